"""A member's dopamine enhancers: the list, one-tap suggestions, adding, editing, deleting."""

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import forms, habits
from app.db import Database
from app.deps import CurrentMember, Db, Form, IdQuery, OwnedEnhancer
from app.i18n import gettext
from app.models import Enhancer, Kind, Member
from app.schemas import EnhancerIn
from app.templating import redirect, render

router = APIRouter()


@dataclass(frozen=True)
class Done:
    """What was just done, from the query of a redirect to the list (?added=3): the list says so."""

    added: int | None = None
    saved: int | None = None
    deleted: bool = False

    def message(self, enhancers: list[Enhancer]) -> str | None:
        if self.deleted:
            return gettext("Enhancer deleted. Past verdicts keep its name; no habit links it any more.")
        name = next((e.name for e in enhancers if e.id is not None and e.id in (self.added, self.saved)), None)
        if name is None:  # nothing done, or deleted since from another tab
            return None
        if self.added:
            return gettext("%(name)s added: the coin decides when it comes along.", name=name)
        return gettext("%(name)s saved.", name=name)


async def list_page(
    request: Request,
    db: Database,
    member: Member,
    values: Mapping[str, object] | None = None,
    errors: dict[str, str] | None = None,
    done: Done = Done(),
) -> Response:
    """The list with its add form; after a bad post, the form as it was sent with messages beside it; after a
    save or a delete, what was done."""
    enhancers = await db.read(habits.enhancers_of_member, member)
    return render(
        request,
        "enhancers/index.html",
        status_code=422 if errors else 200,
        enhancers=enhancers,
        suggestions=habits.suggested_enhancers(enhancers),
        kinds=list(Kind),
        values=values or {},
        errors=errors or {},
        done=done.message(enhancers),
    )


@router.get("/enhancers")
async def list_enhancers(
    request: Request, db: Db, member: CurrentMember, added: IdQuery = None, saved: IdQuery = None, deleted: bool = False
) -> Response:
    return await list_page(request, db, member, done=Done(added, saved, deleted))


@router.post("/enhancers")
async def create_enhancer(request: Request, db: Db, member: CurrentMember, form: Form) -> Response:
    data, errors = forms.parse(EnhancerIn, form)
    if data is not None:
        try:
            enhancer = await db.write(habits.add_enhancer, member, data)
            return redirect(request, "list_enhancers", query={"added": enhancer.id or 0})
        except habits.DuplicateName as exc:
            errors = {"name": str(exc)}
    return await list_page(request, db, member, forms.values_of(form), errors)


@router.get("/enhancers/{enhancer_id}/edit")
async def edit_enhancer(request: Request, enhancer: OwnedEnhancer) -> Response:
    values = enhancer.model_dump(include={"name", "kind", "spike"})
    return render(request, "enhancers/edit.html", enhancer=enhancer, kinds=list(Kind), values=values, errors={})


@router.post("/enhancers/{enhancer_id}/edit")
async def update_enhancer(request: Request, db: Db, enhancer: OwnedEnhancer, form: Form) -> Response:
    data, errors = forms.parse(EnhancerIn, form)
    if data is not None:
        try:
            await db.write(habits.update_enhancer, enhancer, data)
            return redirect(request, "list_enhancers", query={"saved": enhancer.id or 0})
        except habits.DuplicateName as exc:
            errors = {"name": str(exc)}
    return render(request, "enhancers/edit.html", status_code=422, enhancer=enhancer, kinds=list(Kind),
                  values=forms.values_of(form), errors=errors)  # fmt: skip


@router.post("/enhancers/{enhancer_id}/delete")
async def delete_enhancer(request: Request, db: Db, enhancer: OwnedEnhancer) -> Response:
    """Past verdicts keep the enhancer's name; it is only unlinked from habits."""
    await db.write(habits.delete_enhancer, enhancer)
    return redirect(request, "list_enhancers", query={"deleted": "true"})
