"""Setting up a household, logging a device in and out."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app import forms, households, security, throttle
from app.db import Database
from app.deps import AppSettings, Db, Form, NextQuery, OptionalLogin, cookie
from app.i18n import N_, gettext
from app.schemas import HouseholdIn, LoginIn, TimeZoneIn
from app.templating import back_to, delete_cookie, local_path, redirect, render, set_cookie

router = APIRouter()
NAME_TAKEN = N_("A household with this name exists already. Pick another name.")


@router.get("/signup")
async def show_signup(request: Request, db: Db, settings: AppSettings) -> Response:
    if not await db.read(households.signup_allowed, settings):
        raise HTTPException(404)
    first_run = not await db.read(households.has_households)
    return render(request, "auth/signup.html", first_run=first_run, values={}, errors={})


@router.post("/signup")
async def create_household(request: Request, db: Db, settings: AppSettings, form: Form) -> Response:
    """Create a household with its first member, and log this device in as that member."""
    if not await db.read(households.signup_allowed, settings):
        raise HTTPException(404)
    data, errors = forms.parse(HouseholdIn, form)
    if data is not None and await db.read(households.named, data.name) is not None:
        errors = {"name": gettext(NAME_TAKEN)}
    if data is None or errors:
        return await signup_refused(request, db, form, errors)
    password_hash = await throttle.new_hash(request, data.password)
    zone = browser_time_zone(form) or settings.timezone
    previous = cookie(request, security.LOGIN_COOKIE)
    try:
        token = await db.write(households.sign_up, settings, data, password_hash, zone, user_agent(request), previous)
    except households.SignupClosed:  # since the form was checked
        raise HTTPException(404) from None
    except households.NameTaken:
        return await signup_refused(request, db, form, {"name": gettext(NAME_TAKEN)})
    return logged_in(request, token, redirect(request, "list_enhancers"))


async def signup_refused(request: Request, db: Database, form: Form, errors: dict[str, str]) -> Response:
    values = {k: v for k, v in forms.values_of(form).items() if "password" not in k}
    first_run = not await db.read(households.has_households)
    return render(request, "auth/signup.html", status_code=422, first_run=first_run, values=values, errors=errors)


def browser_time_zone(form: Form) -> str | None:
    """The zone the phone's browser named (a hidden field filled by static/app.js), if it is a known one."""
    value = form.get("timezone")
    try:
        return TimeZoneIn(timezone=value).timezone if isinstance(value, str) else None
    except ValidationError:
        return None


def user_agent(request: Request) -> str:
    return request.headers.get("User-Agent", "")


def logged_in(request: Request, token: str, response: Response) -> Response:
    """Go on with the new login's cookie (and the device cookie, if a right password just made this device
    known)."""
    set_cookie(request, response, security.LOGIN_COOKIE, token)
    return throttle.remember_device(request, response)


@router.get("/login")
async def show_login(request: Request, db: Db, login: OptionalLogin, next_path: NextQuery = None) -> Response:
    """The login form; `next` is the page that sent the person here, to go on to once they are in."""
    if login is not None:
        return back_to(request, next_path, "show_today")
    if not await db.read(households.has_households):
        return redirect(request, "show_signup")
    return render(request, "auth/login.html", values={"next": local_path(next_path) or ""}, errors={})


@router.post("/login")
async def log_in_household(request: Request, db: Db, form: Form) -> Response:
    data, errors = forms.parse(LoginIn, form)
    status = 422
    if data is not None:
        household = await db.read(households.named, data.name)
        refused = await throttle.check_password(request, db, household, data.name, data.password)
        if household is not None and refused is None:
            previous = cookie(request, security.LOGIN_COOKIE)
            token = await db.write(households.log_in, household, None, user_agent(request), previous)
            next_path = local_path(form.get("next"))
            query = {"next": next_path} if next_path else None
            return logged_in(request, token, redirect(request, "pick_member_page", query=query))
        assert refused is not None
        errors, status = {"password": refused.message}, refused.status
    values = {"name": str(form.get("name", "")), "next": local_path(form.get("next")) or ""}
    return render(request, "auth/login.html", status_code=status, values=values, errors=errors)


@router.post("/logout")
async def log_out(request: Request, db: Db, login: OptionalLogin) -> Response:
    if login is not None:
        await db.write(households.log_out, login)
    response = redirect(request, "show_login")
    delete_cookie(request, response, security.LOGIN_COOKIE)
    return response
