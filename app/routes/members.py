"""The people of a household: "who's this?", adding and renaming members, their PINs."""

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app import forms, security, throttle, tokens
from app.db import locked, reads_on_loop
from app.deps import CurrentHousehold, CurrentLogin, DbSession, Form, OwnedMember
from app.models import Household, LoginSession, Member
from app.schemas import MemberEdit, MemberIn
from app.templating import redirect, render
from app.throttle import check_password, check_pin

router = APIRouter()

EMOJIS = ("🙂", "😎", "🦊", "🐻", "🐼", "🦁", "🐯", "🐸", "🐙", "🦄", "🌻", "⭐", "🚀", "🌊", "🔥", "🍀")


def members_of(db: Session, household: Household) -> list[Member]:
    return list(db.exec(select(Member).where(Member.household_id == household.id).order_by(col(Member.id))))


def name_taken(db: Session, household: Household, name: str, member: Member | None = None) -> bool:
    same = db.exec(select(Member).where(Member.household_id == household.id, Member.name == name)).first()
    return same is not None and same is not member


def may_edit(login: LoginSession, member: Member) -> bool:
    """A member behind a PIN is edited only by themself."""
    return member.pin_hash is None or login.member_id == member.id


@router.get("/members")
@reads_on_loop
def pick_member_page(
    request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin, pin_saved: bool = False
) -> Response:
    members = members_of(db, household)
    return render(request, "members/index.html", household=household, members=members, pin_saved=pin_saved)


@router.get("/members/{member_id}/pick")
@reads_on_loop
def show_pin(request: Request, member: OwnedMember) -> Response:
    return render(request, "members/pin.html", member=member, errors={})


@router.post("/members/{member_id}/pick")
async def pick_member(
    request: Request, db: DbSession, member: OwnedMember, login: CurrentLogin, form: Form
) -> Response:
    """Make this member the one acting on this device; a member with a PIN must give it."""
    if member.pin_hash is not None and login.member_id != member.id:
        refused = await check_pin(request, db, member, str(form.get("pin", "")))
        if refused:
            errors = {"pin": refused.message}
            return render(request, "members/pin.html", status_code=refused.status, member=member, errors=errors)
    return await run_in_threadpool(picked, request, db, login, member)


def picked(request: Request, db: Session, login: LoginSession, member: Member) -> Response:
    pick(db, login, member)
    db.commit()
    return throttle.remember_device(request, redirect(request, "show_today"))


def pick(db: Session, login: LoginSession, member: Member) -> None:
    """This member is the one acting on this device from now on (the caller commits)."""
    login = locked(db, login)
    login.member_id = member.id
    db.add(login)


@router.get("/members/{member_id}/forgot-pin")
@reads_on_loop
def forgot_pin_page(request: Request, member: OwnedMember, household: CurrentHousehold) -> Response:
    if member.pin_hash is None:
        return redirect(request, "pick_member_page")
    return render(request, "members/forgot_pin.html", member=member, household=household, errors={})


@router.post("/members/{member_id}/forgot-pin")
async def forget_pin(
    request: Request, db: DbSession, member: OwnedMember, household: CurrentHousehold, login: CurrentLogin, form: Form
) -> Response:
    """The household password clears a forgotten PIN, and ends that member's other logins and their tokens: whoever
    knew the PIN is out. This device goes on as the member, to set a new one."""
    if member.pin_hash is None:
        return redirect(request, "pick_member_page")
    password = str(form.get("password", ""))
    refused = await check_password(request, db, household, household.name, password, login)
    if refused:
        errors = {"password": refused.message}
        return render(
            request, "members/forgot_pin.html", status_code=refused.status, member=member, household=household,
            errors=errors,
        )  # fmt: skip
    return await run_in_threadpool(pin_forgotten, request, db, login, member)


def pin_forgotten(request: Request, db: Session, login: LoginSession, member: Member) -> Response:
    member = locked(db, member)
    member.pin_hash = None
    db.add(member)
    security.end_member_logins(db, member, keep=login)
    tokens.revoke_all(db, member_ids=[member.id])
    pick(db, login, member)
    db.commit()
    response = redirect(request, "edit_member", member_id=member.id, query={"pin_cleared": "true"})
    return throttle.remember_device(request, response)


@router.get("/members/new")
@reads_on_loop
def new_member(request: Request, household: CurrentHousehold) -> Response:
    return render(request, "members/form.html", member=None, emojis=EMOJIS, values={}, errors={})


@router.post("/members")
def create_member(request: Request, db: DbSession, household: CurrentHousehold, form: Form) -> Response:
    data, errors = forms.parse(MemberIn, form)
    if data is not None and name_taken(db, household, data.name):
        errors = {"name": "Someone in your household has this name already."}
    if data is None or errors:
        values = forms.values_of(form)
        return render(
            request,
            "members/form.html",
            status_code=422,
            member=None,
            emojis=EMOJIS,
            values=values,
            errors=errors,
        )
    assert household.id is not None
    db.add(Member(household_id=household.id, name=data.name, emoji=data.emoji))
    db.commit()
    return redirect(request, "pick_member_page")


def own_turn(login: LoginSession, member: Member) -> bool:
    """Only the member themself, picked on this device, sets, changes or removes their PIN."""
    return login.member_id == member.id


@router.get("/members/{member_id}/edit")
@reads_on_loop
def edit_member(request: Request, member: OwnedMember, login: CurrentLogin, pin_cleared: bool = False) -> Response:
    if not may_edit(login, member):
        raise HTTPException(403, "Pick this member (with their PIN) to change their settings.")
    values = {"name": member.name, "emoji": member.emoji}
    return member_form(request, login, member, values, {}, pin_cleared=pin_cleared)


def member_form(
    request: Request,
    login: LoginSession,
    member: Member,
    values: Mapping[str, object],
    errors: dict[str, str],
    *,
    pin_cleared: bool = False,
) -> Response:
    return render(
        request,
        "members/form.html",
        status_code=422 if errors else 200,
        member=member,
        own_turn=own_turn(login, member),
        pin_cleared=pin_cleared,
        emojis=EMOJIS,
        values=values,
        errors=errors,
    )


@router.post("/members/{member_id}/edit")
async def update_member(
    request: Request,
    db: DbSession,
    member: OwnedMember,
    household: CurrentHousehold,
    login: CurrentLogin,
    form: Form,
) -> Response:
    if not may_edit(login, member):
        raise HTTPException(403, "Pick this member (with their PIN) to change their settings.")
    data, errors = forms.parse(MemberEdit, form)
    if data is not None and (data.pin or data.remove_pin) and not own_turn(login, member):
        errors = {"pin": f"Only {member.name} can set a PIN: pick {member.name} on this device first."}
    if data is not None and not errors and await run_in_threadpool(name_taken, db, household, data.name, member):
        errors = {"name": "Someone in your household has this name already."}
    if data is not None and not errors and member.pin_hash and (data.pin or data.remove_pin):
        if not data.current_pin:
            errors = {"current_pin": "Please enter the current PIN to change or remove it."}
        elif refused := await check_pin(request, db, member, data.current_pin):
            errors = {"current_pin": refused.message}
    if data is None or errors:
        values = {k: v for k, v in forms.values_of(form).items() if "pin" not in k}
        return member_form(request, login, member, values, errors)
    pin_hash = member.pin_hash
    if data.remove_pin:
        pin_hash = None
    elif data.pin:
        pin_hash = await throttle.new_hash(request, db, data.pin)
    return await run_in_threadpool(save_member, request, db, login, member, data, pin_hash)


def save_member(
    request: Request, db: Session, login: LoginSession, member: Member, data: MemberEdit, pin_hash: str | None
) -> Response:
    member = locked(db, member)
    pin_changed = pin_hash != member.pin_hash
    member.name, member.emoji, member.pin_hash = data.name, data.emoji, pin_hash
    db.add(member)
    if pin_changed:
        # Devices and tokens that had this member before the PIN (made by anyone) would read on behind it.
        security.end_member_logins(db, member, keep=login)
        tokens.revoke_all(db, member_ids=[member.id])
    db.commit()
    query = {"pin_saved": "true"} if pin_changed else None
    return throttle.remember_device(request, redirect(request, "pick_member_page", query=query))
