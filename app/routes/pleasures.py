"""Pleasure checks: a one-tap log of an everyday pleasure, and what spacing does to it."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app import forms, insights
from app.db import reads_on_loop
from app.deps import CurrentMember, DbSession, Form, HouseholdZone, Now
from app.models import NAME_MAX, PleasureCheck
from app.pleasures import names_of, record
from app.schemas import NameParam, PleasureIn
from app.templating import redirect, render, wants_partial

router = APIRouter()


@router.post("/pleasures")
def log_pleasure(request: Request, db: DbSession, member: CurrentMember, form: Form, now: Now) -> Response:
    data, errors = forms.parse(PleasureIn, form)
    context = {"names": names_of(db, member), "values": forms.values_of(form), "errors": errors}
    if data is None:
        return render(request, "pleasures/index.html", partial="pleasures/_form.html", status_code=422,
                      pleasures=insights.pleasures(db, member), since=insights.since, **context)  # fmt: skip
    check = record(db, member, data, now)
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
def show_pleasure(
    request: Request, db: DbSession, member: CurrentMember, zone: HouseholdZone, name: NameParam
) -> Response:
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
        days=insights.pleasure_days(db, member, name, zone)[-60:], short=short, long=long,
        short_gap_hours=int(insights.SHORT_GAP.total_seconds() // 3600),
    )  # fmt: skip
