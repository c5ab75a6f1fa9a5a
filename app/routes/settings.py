"""Household settings: the devices logged in (each can be revoked) and API tokens for scripts."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app import security
from app.deps import CurrentHousehold, CurrentLogin, CurrentMember, DbSession
from app.models import LoginSession
from app.templating import redirect, render

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
