"""The people of a household: "who's this?", adding, editing (name, emoji, colour) and deleting members, their PINs."""

from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app import forms, households, throttle
from app.db import Database
from app.deps import CurrentHousehold, CurrentLogin, Db, Form, IdQuery, NextQuery, OwnedMember
from app.i18n import N_, gettext
from app.models import Colour, Household, LoginSession, Member
from app.schemas import MemberEdit, MemberIn
from app.templating import back_to, local_path, redirect, render

router = APIRouter()

COLOURS = tuple(Colour)
EMOJIS = ("🙂", "😎", "🦊", "🐻", "🐼", "🦁", "🐯", "🐸", "🐙", "🦄", "🌻", "⭐", "🚀", "🌊", "🔥", "🍀")
NAME_TAKEN = N_("Someone in your household has this name already.")
NOT_YOURS = N_("Pick this member (with their PIN) to change their settings.")  # translated on the error page
LAST_MEMBER = N_("A household needs at least one member: add someone else before deleting this one.")


def pin_changed(member: Member) -> str:
    return gettext("%(name)s's PIN has just changed. Please try again.", name=member.name)


@router.get("/members")
async def pick_member_page(
    request: Request,
    db: Db,
    household: CurrentHousehold,
    login: CurrentLogin,
    pin_saved: bool = False,
    deleted: bool = False,
    saved: IdQuery = None,
    added: IdQuery = None,
    next_path: NextQuery = None,
) -> Response:
    """Who's this? Each member is one tap (a PIN after it, if they have one); then on to Today, or to the page
    that sent the person here (`next`). After a save, the page says whose (?saved=2, ?added=3)."""
    members = await db.read(households.members_of, household)
    done = next((m for m in members if m.id is not None and m.id in (saved, added)), None)
    return render(
        request, "members/index.html", household=household, members=members, pin_saved=pin_saved, deleted=deleted,
        saved=done if saved else None, added=done if added else None, next_path=local_path(next_path),
    )  # fmt: skip


@router.get("/members/{member_id}/pick")
async def show_pin(request: Request, member: OwnedMember, next_path: NextQuery = None) -> Response:
    return render(request, "members/pin.html", member=member, errors={}, next_path=local_path(next_path))


@router.post("/members/{member_id}/pick")
async def pick_member(request: Request, db: Db, member: OwnedMember, login: CurrentLogin, form: Form) -> Response:
    """Make this member the one acting on this device; a member behind a PIN must give it."""
    refused = None
    if households.behind_pin(login, member):
        refused = await throttle.check_pin(request, db, member, str(form.get("pin", "")))
    if refused is None:
        try:
            await db.write(households.pick, login, member)
        except households.PinChanged:
            refused = throttle.Refused(pin_changed(member), 422)
        else:
            return throttle.remember_device(request, back_to(request, form.get("next"), "show_today"))
    errors = {"pin": refused.message}
    return render(
        request, "members/pin.html", status_code=refused.status, member=member, errors=errors,
        next_path=local_path(form.get("next")),
    )  # fmt: skip


@router.get("/members/{member_id}/forgot-pin")
async def forgot_pin_page(request: Request, member: OwnedMember, household: CurrentHousehold) -> Response:
    if member.pin_hash is None:
        return redirect(request, "pick_member_page")
    return render(request, "members/forgot_pin.html", member=member, household=household, errors={})


@router.post("/members/{member_id}/forgot-pin")
async def forget_pin(
    request: Request, db: Db, member: OwnedMember, household: CurrentHousehold, login: CurrentLogin, form: Form
) -> Response:
    """The household password clears a forgotten PIN (see households.forget_pin)."""
    if member.pin_hash is None:
        return redirect(request, "pick_member_page")
    password = str(form.get("password", ""))
    refused = await throttle.check_password(request, db, household, household.name, password, login)
    if refused:
        errors = {"password": refused.message}
        return render(
            request, "members/forgot_pin.html", status_code=refused.status, member=member, household=household,
            errors=errors,
        )  # fmt: skip
    if not await db.write(households.forget_pin, login, member):  # removed meanwhile
        return redirect(request, "pick_member_page")
    response = redirect(request, "edit_member", member_id=member.id, query={"pin_cleared": "true"})
    return throttle.remember_device(request, response)


@router.get("/members/new")
async def new_member(request: Request, db: Db, household: CurrentHousehold) -> Response:
    """The form, with a colour nobody in the household has yet (if one is left): members are told apart at once."""
    taken = {m.colour for m in await db.read(households.members_of, household)}
    colour = next((c for c in COLOURS if c not in taken), COLOURS[0])
    return render(
        request, "members/form.html", member=None, emojis=EMOJIS, colours=COLOURS, values={"colour": colour}, errors={}
    )


@router.post("/members")
async def create_member(request: Request, db: Db, household: CurrentHousehold, form: Form) -> Response:
    data, errors = forms.parse(MemberIn, form)
    if data is not None:
        try:
            added = await db.write(households.add_member, household, data)
            return redirect(request, "pick_member_page", query={"added": added.id or 0})
        except households.NameTaken:
            errors = {"name": gettext(NAME_TAKEN)}
    values = forms.values_of(form)
    return render(
        request,
        "members/form.html",
        status_code=422,
        member=None,
        emojis=EMOJIS,
        colours=COLOURS,
        values=values,
        errors=errors,
    )


@router.get("/members/{member_id}/edit")
async def edit_member(
    request: Request, db: Db, member: OwnedMember, login: CurrentLogin, pin_cleared: bool = False
) -> Response:
    if households.behind_pin(login, member):
        raise HTTPException(403, NOT_YOURS)
    values = {"name": member.name, "emoji": member.emoji, "colour": member.colour}
    return await member_form(request, db, login, member, values, {}, pin_cleared=pin_cleared)


async def member_form(
    request: Request,
    db: Database,
    login: LoginSession,
    member: Member,
    values: Mapping[str, object],
    errors: dict[str, str],
    *,
    pin_cleared: bool = False,
) -> Response:
    """The edit form, and below it what deleting the member would take with them."""
    return render(
        request,
        "members/form.html",
        status_code=422 if errors else 200,
        member=member,
        own_turn=households.own_turn(login, member),
        pin_cleared=pin_cleared,
        emojis=EMOJIS,
        colours=COLOURS,
        values=values,
        errors=errors,
        only_member=await db.read(households.member_count, member.household_id) <= 1,
        belongings=await db.read(households.belongings, member),
    )


@router.post("/members/{member_id}/edit")
async def update_member(
    request: Request, db: Db, member: OwnedMember, household: CurrentHousehold, login: CurrentLogin, form: Form
) -> Response:
    if households.behind_pin(login, member):
        raise HTTPException(403, NOT_YOURS)
    data, errors = forms.parse(MemberEdit, form)
    if data is not None:
        errors = await edit_errors(request, db, household, login, member, data)
    if data is not None and not errors:
        pin_hash = member.pin_hash
        if data.remove_pin:
            pin_hash = None
        elif data.pin:
            pin_hash = await throttle.new_hash(request, data.pin)
        try:
            pin_saved = await db.write(households.save_member, login, member, data, pin_hash)
        except households.NameTaken:
            errors = {"name": gettext(NAME_TAKEN)}
        except households.PinChanged:
            errors = {"pin": pin_changed(member)}
        else:
            query: dict[str, str | int] = {"pin_saved": "true"} if pin_saved else {"saved": member.id or 0}
            return throttle.remember_device(request, redirect(request, "pick_member_page", query=query))
    values = {k: v for k, v in forms.values_of(form).items() if "pin" not in k}
    return await member_form(request, db, login, member, values, errors)


@router.post("/members/{member_id}/delete")
async def delete_member(
    request: Request, db: Db, member: OwnedMember, household: CurrentHousehold, login: CurrentLogin
) -> Response:
    """Delete a member with everything of theirs: asked for on the edit form, so only by whoever may edit them."""
    if households.behind_pin(login, member):
        raise HTTPException(403, NOT_YOURS)
    try:
        await db.write(households.delete_member, household, member)
    except households.LastMember:
        errors = {"delete": gettext(LAST_MEMBER)}
    except households.PinChanged:
        errors = {"delete": pin_changed(member)}
    else:
        return redirect(request, "pick_member_page", query={"deleted": "true"})
    values = {"name": member.name, "emoji": member.emoji, "colour": member.colour}
    return await member_form(request, db, login, member, values, errors)


async def edit_errors(
    request: Request, db: Database, household: Household, login: LoginSession, member: Member, data: MemberEdit
) -> dict[str, str]:
    """What stops this edit, field by field, checked in this order: the PIN is the member's own to set, the name
    is free, and changing or removing a PIN takes the current one."""
    changes_pin = bool(data.pin or data.remove_pin)
    if changes_pin and not households.own_turn(login, member):
        return {"pin": gettext("Only %(name)s can set a PIN: pick %(name)s on this device first.", name=member.name)}
    if await db.read(households.name_taken, household.id, data.name, member):
        return {"name": gettext(NAME_TAKEN)}
    if changes_pin and member.pin_hash:
        if not data.current_pin:
            return {"current_pin": gettext("Please enter the current PIN to change or remove it.")}
        if refused := await throttle.check_pin(request, db, member, data.current_pin):
            return {"current_pin": refused.message}
    return {}
