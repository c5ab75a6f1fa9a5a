"""Household settings: appearance, password, the devices logged in (each can be revoked), API tokens, data."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app import archive, forms, households, security
from app.db import reads_on_loop
from app.deps import CurrentHousehold, CurrentLogin, CurrentMember, DbSession, Form, IdPath, Now
from app.models import Household, LoginSession
from app.routes.auth import check_password
from app.schemas import PasswordChange, TimeZoneIn, time_zones
from app.templating import THEME_COOKIE, THEMES, redirect, render, set_cookie

router = APIRouter()


def settings_page(
    request: Request,
    db: Session,
    household: Household,
    *,
    token: str | None = None,
    message: str | None = None,
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
        token=token,
        message=message,
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
) -> Response:
    message = "Password changed. Every other device has been logged out." if changed else None
    if zone_saved:
        zone = household.timezone.replace("_", " ")
        message = f"Time zone saved: {zone}. Times are shown in it, and a day's session follows it."
    return settings_page(request, db, household, message=message)


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
def change_password(
    request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin, member: CurrentMember, form: Form
) -> Response:
    """Needs the current password; every other device is logged out, this one stays in."""
    data, errors = forms.parse(PasswordChange, form)
    if data is not None:
        refused = check_password(request, db, household, household.name, data.current)
        if refused is None:
            household.password_hash = security.hash_secret(data.password)
            db.add(household)
            security.end_other_logins(db, household.id or 0, keep=login)
            db.commit()
            return redirect(request, "show_settings", query={"changed": "true"})
        errors = {"current": refused.message}
    return settings_page(request, db, household, errors=errors)


@router.post("/settings/devices/{device_id}/revoke")
def revoke_device(request: Request, db: DbSession, device_id: IdPath, household: CurrentHousehold) -> Response:
    device = db.get(LoginSession, device_id)
    if device is None or device.household_id != household.id:
        raise HTTPException(404)
    db.delete(device)
    db.commit()
    return redirect(request, "show_settings")


@router.post("/settings/tokens")
def create_token(request: Request, db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    """The token is shown once, here; only its hash is kept."""
    token = security.create_api_token(db, member)
    db.commit()
    return settings_page(request, db, household, token=token)


def export_of(db: DbSession, household: CurrentHousehold) -> archive.Export:
    return archive.export_household(db, household, secrets=False)


def download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/settings/export.json")
def export_json(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    data = export_of(db, household)
    return download(data.model_dump_json(indent=2), "application/json", f"coinflip-{data.exported_at:%Y-%m-%d}.json")


@router.get("/settings/export.csv")
def export_csv(db: DbSession, household: CurrentHousehold, member: CurrentMember) -> Response:
    data = export_of(db, household)
    return download(
        archive.flips_csv(data), "text/csv; charset=utf-8", f"coinflip-flips-{data.exported_at:%Y-%m-%d}.csv"
    )
