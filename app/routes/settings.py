"""Household settings: the devices logged in (each can be revoked) and API tokens for scripts."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app import archive, security
from app.deps import CurrentHousehold, CurrentLogin, CurrentMember, DbSession, Form
from app.models import LoginSession
from app.templating import THEME_COOKIE, THEMES, redirect, render, set_cookie

router = APIRouter()


@router.get("/settings")
def show_settings(
    request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin, member: CurrentMember
) -> Response:
    devices = db.exec(
        select(LoginSession)
        .where(LoginSession.household_id == household.id)
        .order_by(col(LoginSession.last_seen_at).desc())
    ).all()
    return render(request, "settings/index.html", household=household, devices=devices, token=None)


@router.post("/settings/theme")
def set_theme(request: Request, form: Form) -> Response:
    """Remembered per device, in a cookie: light, dark, or following the system."""
    theme = str(form.get("theme", "system"))
    response = redirect(request, "show_settings")
    set_cookie(request, response, THEME_COOKIE, theme if theme in THEMES else "system")
    return response


@router.post("/settings/devices/{device_id}/revoke")
def revoke_device(request: Request, db: DbSession, device_id: int, household: CurrentHousehold) -> Response:
    device = db.get(LoginSession, device_id)
    if device is None or device.household_id != household.id:
        raise HTTPException(404)
    db.delete(device)
    db.commit()
    return redirect(request, "show_settings")


@router.post("/settings/tokens")
def create_token(
    request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin, member: CurrentMember
) -> Response:
    """The token is shown once, here; only its hash is kept."""
    token = security.create_api_token(db, member)
    db.commit()
    devices = db.exec(select(LoginSession).where(LoginSession.household_id == household.id)).all()
    return render(request, "settings/index.html", household=household, devices=devices, token=token)


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
