"""Household settings: appearance, password, the devices logged in (each can be revoked), API tokens, data."""

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app import archive, forms, households, throttle, tokens
from app.db import reads_on_loop
from app.deps import CurrentHousehold, CurrentLogin, CurrentMember, DbSession, Form, IdPath, Now, cookie, cookie_name
from app.models import Household, LoginSession, Member
from app.schemas import PasswordChange, TimeZoneIn, TokenIn, time_zones
from app.templating import THEME_COOKIE, THEMES, cookie_path, delete_cookie, redirect, render, set_cookie
from app.throttle import check_password

router = APIRouter()


SHOWN_ONCE_COOKIE = "coinflip_shown_once"


def settings_page(
    request: Request,
    db: Session,
    household: Household,
    *,
    new_token: str | None = None,
    message: str | None = None,
    values: Mapping[str, object] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    devices = db.exec(
        select(LoginSession)
        .where(LoginSession.household_id == household.id)
        .order_by(col(LoginSession.last_seen_at).desc())
    ).all()
    return render(
        request,
        "settings/index.html",
        status_code=422 if errors else status_code,
        household=household,
        time_zones=time_zones(),
        devices=devices,
        tokens=tokens.of_household(db, household.id),
        new_token=new_token,
        message=message,
        values=values or {},
        errors=errors or {},
    )


@router.get("/settings")
@reads_on_loop
def show_settings(
    request: Request,
    db: DbSession,
    household: CurrentHousehold,
    member: CurrentMember,
    changed: bool = False,
    zone_saved: bool = False,
    revoked: bool = False,
) -> Response:
    message = None
    if changed:
        message = "Password changed. Every other device has been logged out, and every API token revoked."
    if zone_saved:
        zone = household.timezone.replace("_", " ")
        message = f"Time zone saved: {zone}. Times are shown in it, and a day's session follows it."
    if revoked:
        message = "Token revoked: scripts using it get 401 from now on."
    # A token just made is shown once: its cookie goes with this page, so a reload shows it no more.
    new_token = cookie(request, SHOWN_ONCE_COOKIE)
    found = tokens.find(db, new_token) if new_token else None
    shown = new_token if found is not None and found[1].household_id == household.id else None
    response = settings_page(request, db, household, new_token=shown, message=message)
    if new_token:
        delete_cookie(request, response, SHOWN_ONCE_COOKIE)
    return response


@router.post("/settings/timezone")
def set_time_zone(request: Request, db: DbSession, household: CurrentHousehold, form: Form, now: Now) -> Response:
    """The household's time zone. A session already under way never ends sooner for it."""
    data, errors = forms.parse(TimeZoneIn, form)
    if data is None:
        return settings_page(request, db, household, errors=errors)
    households.set_time_zone(db, household, data.timezone, now)
    return redirect(request, "show_settings", query={"zone_saved": "true"})


@router.post("/settings/theme")
def set_theme(request: Request, form: Form) -> Response:
    """Remembered per device, in a cookie: light, dark, or following the system."""
    theme = str(form.get("theme", "system"))
    response = redirect(request, "show_settings")
    set_cookie(request, response, THEME_COOKIE, theme if theme in THEMES else "system")
    return response


@router.post("/settings/password")
async def change_password(
    request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin, member: CurrentMember, form: Form
) -> Response:
    """Needs the current password; every other device is logged out and every API token revoked, this device
    stays in."""
    data, errors = forms.parse(PasswordChange, form)
    if data is not None:
        refused = await check_password(request, db, household, household.name, data.current, login)
        if refused is None:
            password_hash = await throttle.new_hash(request, db, data.password)
            await run_in_threadpool(households.set_password, db, household, password_hash, keep=login)
            return redirect(request, "show_settings", query={"changed": "true"})
        errors = {"current": refused.message}
    return await run_in_threadpool(settings_page, request, db, household, errors=errors)


@router.post("/settings/devices/{device_id}/revoke")
def revoke_device(request: Request, db: DbSession, device_id: IdPath, household: CurrentHousehold) -> Response:
    device = db.get(LoginSession, device_id)
    if device is None or device.household_id != household.id:
        raise HTTPException(404)
    db.delete(device)
    db.commit()
    return redirect(request, "show_settings")


@router.post("/settings/tokens")
def create_token(
    request: Request, db: DbSession, household: CurrentHousehold, member: CurrentMember, form: Form
) -> Response:
    """Made here, shown once on the page this redirects to (a reload there makes no second token); only its
    hash is kept."""
    data, errors = forms.parse(TokenIn, form)
    if data is None:
        return settings_page(request, db, household, values=forms.values_of(form), errors=errors)
    token = tokens.create(db, member, data.name)
    db.commit()
    response = redirect(request, "show_settings")
    response.set_cookie(
        cookie_name(request, SHOWN_ONCE_COOKIE), token, max_age=300, path=cookie_path(request),
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, db: DbSession, token_id: IdPath, household: CurrentHousehold) -> Response:
    """Any member may revoke any token of the household, as with devices: a lost laptop is everyone's concern."""
    members = list(db.exec(select(Member.id).where(Member.household_id == household.id)))
    if not tokens.revoke(db, token_id, members):
        raise HTTPException(404)
    db.commit()
    return redirect(request, "show_settings", query={"revoked": "true"})


def export_of(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> archive.Export:
    """The household's data as this member may see it: never the journal of someone else behind a PIN."""
    return archive.export_household(db, household, secrets=False, viewer=member)


def download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/settings/export.json")
def export_json(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    data = export_of(db, household, member)
    return download(data.model_dump_json(indent=2), "application/json", f"coinflip-{data.exported_at:%Y-%m-%d}.json")


@router.get("/settings/export.csv")
def export_csv(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    data = export_of(db, household, member)
    return download(
        archive.flips_csv(data), "text/csv; charset=utf-8", f"coinflip-flips-{data.exported_at:%Y-%m-%d}.csv"
    )


@router.get("/settings/export-pleasure-checks.csv")
def export_pleasure_checks_csv(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    data = export_of(db, household, member)
    filename = f"coinflip-pleasure-checks-{data.exported_at:%Y-%m-%d}.csv"
    return download(archive.pleasure_checks_csv(data), "text/csv; charset=utf-8", filename)
