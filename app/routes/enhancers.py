"""A member's dopamine enhancers: the list, one-tap suggestions, adding, editing, deleting."""

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import copy, forms, habits
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, OwnedEnhancer
from app.models import Enhancer, Kind, Member
from app.schemas import EnhancerIn
from app.templating import redirect, render

router = APIRouter()


def suggestions(existing: list[Enhancer]) -> list[tuple[str, str, int]]:
    names = {e.name.casefold() for e in existing}
    return [s for s in copy.SUGGESTED_ENHANCERS if s[0].casefold() not in names]


def list_page(
    request: Request,
    db: Session,
    member: Member,
    values: Mapping[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The list with its add form; after a bad post, the form as it was sent with messages beside it."""
    enhancers = habits.enhancers_of_member(db, member)
    return render(
        request,
        "enhancers/index.html",
        status_code=422 if errors else 200,
        enhancers=enhancers,
        suggestions=suggestions(enhancers),
        kinds=list(Kind),
        values=values or {},
        errors=errors or {},
    )


@router.get("/enhancers")
@reads_on_loop
def list_enhancers(request: Request, db: DbSession, member: CurrentMember) -> Response:
    return list_page(request, db, member)


@router.post("/enhancers")
def create_enhancer(request: Request, db: DbSession, member: CurrentMember, form: Form) -> Response:
    data, errors = forms.parse(EnhancerIn, form)
    if data is None:
        return list_page(request, db, member, forms.values_of(form), errors)
    assert member.id is not None
    db.add(Enhancer(member_id=member.id, **data.model_dump()))
    db.commit()
    return redirect(request, "list_enhancers")


@router.get("/enhancers/{enhancer_id}/edit")
@reads_on_loop
def edit_enhancer(request: Request, enhancer: OwnedEnhancer) -> Response:
    values = enhancer.model_dump(include={"name", "kind", "spike"})
    return render(request, "enhancers/edit.html", enhancer=enhancer, kinds=list(Kind), values=values, errors={})


@router.post("/enhancers/{enhancer_id}/edit")
def update_enhancer(request: Request, db: DbSession, enhancer: OwnedEnhancer, form: Form) -> Response:
    data, errors = forms.parse(EnhancerIn, form)
    if data is None:
        values = forms.values_of(form)
        return render(
            request,
            "enhancers/edit.html",
            status_code=422,
            enhancer=enhancer,
            kinds=list(Kind),
            values=values,
            errors=errors,
        )
    enhancer.sqlmodel_update(data.model_dump())
    db.add(enhancer)
    db.commit()
    return redirect(request, "list_enhancers")


@router.post("/enhancers/{enhancer_id}/delete")
def delete_enhancer(request: Request, db: DbSession, enhancer: OwnedEnhancer) -> Response:
    """Past verdicts keep the enhancer's name; it is only unlinked from habits."""
    db.delete(enhancer)
    db.commit()
    return redirect(request, "list_enhancers")
