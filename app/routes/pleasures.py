"""Pleasure checks: a one-tap log of an everyday pleasure, and what spacing does to it."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app import forms, insights
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form
from app.models import NAME_MAX, Member, PleasureCheck
from app.schemas import NameParam, PleasureIn
from app.templating import redirect, render, wants_partial

router = APIRouter()

SUGGESTED = ("Coffee", "Social media", "Sweets", "Phone", "TV series")
NAMES_OF_MEMBER = (  # built once: asked on every Today page
    select(PleasureCheck.name).where(PleasureCheck.member_id == bindparam("member_id")).distinct()
)


def names_of(db: Session, member: Member) -> list[str]:
    """The member's own pleasures first, then the suggestions they haven't used."""
    own = list(db.exec(NAMES_OF_MEMBER, params={"member_id": member.id}))
    return sorted(own) + [s for s in SUGGESTED if s not in own]


def record(db: Session, member: Member, data: PleasureIn) -> PleasureCheck:
    assert member.id is not None
    check = PleasureCheck(member_id=member.id, **data.model_dump())
    db.add(check)
    db.commit()
    return check


@router.post("/pleasures")
def log_pleasure(request: Request, db: DbSession, member: CurrentMember, form: Form) -> Response:
    data, errors = forms.parse(PleasureIn, form)
    context = {"names": names_of(db, member), "values": forms.values_of(form), "errors": errors}
    if data is None:
        return render(request, "pleasures/index.html", partial="pleasures/_form.html", status_code=422,
                      pleasures=insights.pleasures(db, member), since=insights.since, **context)  # fmt: skip
    check = record(db, member, data)
    if not wants_partial(request):
        return redirect(request, "show_pleasure", name=check.name)
    return render(request, "pleasures/index.html", partial="pleasures/_form.html", logged=check,
                  names=names_of(db, member), values={}, errors={})  # fmt: skip


@router.get("/pleasures")
@reads_on_loop
def list_pleasures(request: Request, db: DbSession, member: CurrentMember) -> Response:
    return render(
        request, "pleasures/index.html", pleasures=insights.pleasures(db, member), since=insights.since,
        names=names_of(db, member), values={}, errors={},
    )  # fmt: skip


@router.get("/pleasures/{name:path}")
@reads_on_loop
def show_pleasure(request: Request, db: DbSession, member: CurrentMember, name: NameParam) -> Response:
    checks = db.exec(
        select(PleasureCheck)
        .where(PleasureCheck.member_id == member.id, PleasureCheck.name == name[:NAME_MAX])
        .order_by(col(PleasureCheck.logged_at).desc())
        .limit(10)
    ).all()
    if not checks:
        raise HTTPException(404)
    short, long = insights.spacing(db, member, name)
    return render(
        request, "pleasures/show.html", name=name, latest=checks, since=insights.since(checks[0].logged_at),
        days=insights.pleasure_days(db, member, name)[-60:], short=short, long=long,
        short_gap_hours=int(insights.SHORT_GAP.total_seconds() // 3600),
    )  # fmt: skip
