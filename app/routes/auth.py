"""Setting up a household, and logging a device in and out."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from app import forms, households, security, throttle
from app.deps import AppSettings, DbSession, Form, OptionalLogin, cookie
from app.models import Household, Member, login_name
from app.schemas import HouseholdIn, LoginIn, TimeZoneIn
from app.templating import delete_cookie, redirect, render, set_cookie
from app.throttle import check_password

router = APIRouter()
NAME_TAKEN = "A household with this name exists already. Pick another name."


def has_households(db: Session) -> bool:
    return db.exec(select(func.count()).select_from(Household)).one() > 0


def signup_allowed(db: Session, settings: AppSettings) -> bool:
    return settings.signup == "open" or not has_households(db)


def log_in(request: Request, db: Session, household: Household, member: Member | None, target: str) -> Response:
    """Start a fresh login for this device (a new token every time) and go on to `target`. A login this
    browser had before ends: it would be a device nobody can see is gone."""
    assert household.id is not None
    previous = security.find_login(db, cookie(request, security.LOGIN_COOKIE))
    if previous is not None:
        security.end_login(db, previous[0])
    user_agent = request.headers.get("User-Agent", "")
    token = security.start_login(db, household.id, user_agent, member.id if member else None)
    db.commit()
    response = redirect(request, target)
    set_cookie(request, response, security.LOGIN_COOKIE, token)
    return throttle.remember_device(request, response)


@router.get("/signup")
def show_signup(request: Request, db: DbSession, settings: AppSettings) -> Response:
    if not signup_allowed(db, settings):
        raise HTTPException(404)
    return render(request, "auth/signup.html", first_run=not has_households(db), values={}, errors={})


@router.post("/signup")
async def create_household(request: Request, db: DbSession, settings: AppSettings, form: Form) -> Response:
    """Create a household with its first member, and log this device in as that member."""
    data, errors = await run_in_threadpool(signup_errors, db, settings, form)
    if data is None or errors:
        return await run_in_threadpool(signup_refused, request, db, form, errors)
    password_hash = await throttle.new_hash(request, db, data.password)
    return await run_in_threadpool(signed_up, request, db, settings, form, data, password_hash)


def signup_errors(db: Session, settings: AppSettings, form: Form) -> tuple[HouseholdIn | None, dict[str, str]]:
    if not signup_allowed(db, settings):
        raise HTTPException(404)
    data, errors = forms.parse(HouseholdIn, form)
    if data is not None and households.named(db, data.name) is not None:
        errors = {"name": NAME_TAKEN}
    return data, errors


def signup_refused(request: Request, db: Session, form: Form, errors: dict[str, str]) -> Response:
    values = {k: v for k, v in forms.values_of(form).items() if "password" not in k}
    first_run = not has_households(db)
    return render(request, "auth/signup.html", status_code=422, first_run=first_run, values=values, errors=errors)


def signed_up(
    request: Request, db: Session, settings: AppSettings, form: Form, data: HouseholdIn, password_hash: str
) -> Response:
    # Checked again: the password was hashed holding no lock, and someone may have signed up meanwhile.
    if not signup_allowed(db, settings):
        raise HTTPException(404)
    if households.named(db, data.name) is not None:
        return signup_refused(request, db, form, {"name": NAME_TAKEN})
    household = Household(
        name=data.name,
        login=login_name(data.name),
        password_hash=password_hash,
        timezone=browser_time_zone(form) or settings.timezone,
    )
    db.add(household)
    try:
        db.flush()
    except IntegrityError:  # the same name, signed up on another replica in this very moment
        db.rollback()
        return signup_refused(request, db, form, {"name": NAME_TAKEN})
    assert household.id is not None
    member = Member(household_id=household.id, name=data.member)
    db.add(member)
    db.flush()
    return log_in(request, db, household, member, "list_enhancers")


def browser_time_zone(form: Form) -> str | None:
    """The zone the phone's browser named (a hidden field filled by static/app.js), if it is a known one."""
    value = form.get("timezone")
    try:
        return TimeZoneIn(timezone=value).timezone if isinstance(value, str) else None
    except ValidationError:
        return None


@router.get("/login")
def show_login(request: Request, db: DbSession, login: OptionalLogin) -> Response:
    if login is not None:
        return redirect(request, "show_today")
    if not has_households(db):
        return redirect(request, "show_signup")
    return render(request, "auth/login.html", values={}, errors={})


@router.post("/login")
async def log_in_household(request: Request, db: DbSession, form: Form) -> Response:
    data, errors = forms.parse(LoginIn, form)
    status = 422
    if data is not None:
        household = await run_in_threadpool(households.named, db, data.name)
        refused = await check_password(request, db, household, data.name, data.password)
        if household is not None and refused is None:
            return await run_in_threadpool(log_in, request, db, household, None, "pick_member_page")
        assert refused is not None
        errors, status = {"password": refused.message}, refused.status
    values = {"name": str(form.get("name", ""))}
    return render(request, "auth/login.html", status_code=status, values=values, errors=errors)


@router.post("/logout")
def log_out(request: Request, db: DbSession, login: OptionalLogin) -> Response:
    if login is not None:
        security.end_login(db, login)
        db.commit()
    response = redirect(request, "show_login")
    delete_cookie(request, response, security.LOGIN_COOKIE)
    return response
