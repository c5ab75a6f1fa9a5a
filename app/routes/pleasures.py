"""Pleasure checks: a one-tap log of an everyday pleasure, and what spacing does to it."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app import forms, pleasures
from app.deps import CurrentMember, Db, Form, HouseholdZone, Now
from app.schemas import NameParam, PleasureIn
from app.templating import redirect, render, wants_partial

router = APIRouter()


def named(form: FormData) -> FormData:
    """The form with one name: one typed under "Something else" wins over a chip (without JavaScript a chip
    stays picked while one types)."""
    typed = form.get("other_name")
    if not isinstance(typed, str) or not typed.strip():
        return form
    return FormData([(key, value) for key, value in form.multi_items() if key != "name"] + [("name", typed)])


@router.post("/pleasures")
async def log_pleasure(request: Request, db: Db, member: CurrentMember, form: Form, now: Now) -> Response:
    data, errors = forms.parse(PleasureIn, named(form))
    if data is None:
        log = await db.read(pleasures.pleasure_log, member)
        return render(request, "pleasures/index.html", partial="pleasures/_form.html", status_code=422,
                      pleasures=log.pleasures, since=pleasures.since, names=log.names, values=forms.values_of(form),
                      errors=errors)  # fmt: skip
    check = await db.write(pleasures.record, member, data, now)
    if not wants_partial(request):
        return redirect(request, "show_pleasure", name=check.name)
    names = await db.read_plain(pleasures.names_of, member)
    return render(request, "pleasures/index.html", partial="pleasures/_form.html", logged=check, names=names,
                  values={}, errors={})  # fmt: skip


@router.get("/pleasures")
async def list_pleasures(request: Request, db: Db, member: CurrentMember) -> Response:
    log = await db.read(pleasures.pleasure_log, member)
    return render(request, "pleasures/index.html", pleasures=log.pleasures, since=pleasures.since, names=log.names,
                  values={}, errors={})  # fmt: skip


@router.get("/pleasures/{name:path}")
async def show_pleasure(
    request: Request, db: Db, member: CurrentMember, zone: HouseholdZone, name: NameParam
) -> Response:
    found = await db.read(pleasures.pleasure_insights, member, name, zone)
    if found is None:
        raise HTTPException(404)
    return render(
        request, "pleasures/show.html", name=name, latest=found.latest,
        since=pleasures.since(found.latest[0].logged_at), days=found.days, short=found.short, long=found.long,
        short_gap_hours=found.short_gap_hours,
    )  # fmt: skip
