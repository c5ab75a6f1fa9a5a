"""The people of a household: "who's this?", adding and renaming members, their PINs."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app import forms, security
from app.db import reads_on_loop
from app.deps import CurrentHousehold, CurrentLogin, DbSession, Form, OwnedMember
from app.models import Household, LoginSession, Member
from app.routes.auth import check_secret
from app.schemas import MemberEdit, MemberIn
from app.templating import redirect, render

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
def pick_member_page(request: Request, db: DbSession, household: CurrentHousehold, login: CurrentLogin) -> Response:
    return render(request, "members/index.html", household=household, members=members_of(db, household))


@router.get("/members/{member_id}/pick")
@reads_on_loop
def show_pin(request: Request, member: OwnedMember) -> Response:
    return render(request, "members/pin.html", member=member, errors={})


@router.post("/members/{member_id}/pick")
def pick_member(request: Request, db: DbSession, member: OwnedMember, login: CurrentLogin, form: Form) -> Response:
    """Make this member the one acting on this device; a member with a PIN must give it."""
    if member.pin_hash is not None and login.member_id != member.id:
        refused = check_secret(
            request, db, kind="pin", subject=str(member.id), secret=str(form.get("pin", "")),
            secret_hash=member.pin_hash, wrong="That PIN is not right. Try again.",
        )  # fmt: skip
        if refused:
            errors = {"pin": refused.message}
            return render(request, "members/pin.html", status_code=refused.status, member=member, errors=errors)
    login.member_id = member.id
    db.add(login)
    db.commit()
    return redirect(request, "show_today")


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


@router.get("/members/{member_id}/edit")
@reads_on_loop
def edit_member(request: Request, member: OwnedMember, login: CurrentLogin) -> Response:
    if not may_edit(login, member):
        raise HTTPException(403, "Pick this member (with their PIN) to change their settings.")
    values = {"name": member.name, "emoji": member.emoji}
    return render(request, "members/form.html", member=member, emojis=EMOJIS, values=values, errors={})


@router.post("/members/{member_id}/edit")
def update_member(
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
    if data is not None and name_taken(db, household, data.name, member):
        errors = {"name": "Someone in your household has this name already."}
    if data is None or errors:
        values = {k: v for k, v in forms.values_of(form).items() if k != "pin"}
        return render(
            request,
            "members/form.html",
            status_code=422,
            member=member,
            emojis=EMOJIS,
            values=values,
            errors=errors,
        )
    member.name, member.emoji = data.name, data.emoji
    if data.remove_pin:
        member.pin_hash = None
    elif data.pin:
        member.pin_hash = security.hash_secret(data.pin)
    db.add(member)
    db.commit()
    return redirect(request, "pick_member_page")
