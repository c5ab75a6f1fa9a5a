"""Setting up a household, logging a device in and out, and checking passwords and PINs."""

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from app import forms, security
from app.db import side_write
from app.deps import AppSettings, DbSession, Form, OptionalLogin
from app.models import Household, Member
from app.schemas import HouseholdIn, LoginIn, TimeZoneIn
from app.templating import delete_cookie, redirect, render, set_cookie

router = APIRouter()


def has_households(db: Session) -> bool:
    return db.exec(select(func.count()).select_from(Household)).one() > 0


def signup_allowed(db: Session, settings: AppSettings) -> bool:
    return settings.signup == "open" or not has_households(db)


def login_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def log_in(request: Request, db: Session, household: Household, member: Member | None, target: str) -> Response:
    """Start a fresh login for this device (a new token every time) and go on to `target`."""
    assert household.id is not None
    user_agent = request.headers.get("User-Agent", "")
    token = security.start_login(db, household.id, user_agent, member.id if member else None)
    db.commit()
    response = redirect(request, target)
    set_cookie(request, response, security.LOGIN_COOKIE, token)
    return response


@router.get("/signup")
def show_signup(request: Request, db: DbSession, settings: AppSettings) -> Response:
    if not signup_allowed(db, settings):
        raise HTTPException(404)
    return render(request, "auth/signup.html", first_run=not has_households(db), values={}, errors={})


@router.post("/signup")
def create_household(request: Request, db: DbSession, settings: AppSettings, form: Form) -> Response:
    """Create a household with its first member, and log this device in as that member."""
    if not signup_allowed(db, settings):
        raise HTTPException(404)
    data, errors = forms.parse(HouseholdIn, form)
    if data is not None and db.exec(select(Household).where(Household.login == login_name(data.name))).first():
        errors = {"name": "A household with this name exists already. Pick another name."}
    if data is None or errors:
        values = {k: v for k, v in forms.values_of(form).items() if "password" not in k}
        return render(
            request,
            "auth/signup.html",
            status_code=422,
            first_run=not has_households(db),
            values=values,
            errors=errors,
        )
    household = Household(
        name=data.name,
        login=login_name(data.name),
        password_hash=security.hash_secret(data.password),
        timezone=browser_time_zone(form) or settings.timezone,
    )
    db.add(household)
    db.flush()
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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Refused:
    message: str
    status: int  # 429 while throttled, 422 for a wrong secret


def check_secret(
    request: Request, db: Session, *, kind: str, subject: str, secret: str, secret_hash: str | None, wrong: str
) -> Refused | None:
    """Check a password or PIN, throttled per subject (a login name, a member) and per client address.

    A missing hash still costs a full hash check, so an unknown name takes as long as a wrong password.
    """
    client = client_address(request)
    keys = [f"{kind}:{subject}", security.address_key(kind, client)]
    wait = security.throttled_for(db, keys)
    if wait:
        return Refused(f"Too many tries. Please wait {wait} seconds, then try again.", 429)
    if security.verify_secret(secret, secret_hash):
        security.clear_failures(db, keys[0])
        return None
    with side_write(request, db) as writer:
        security.record_failure(writer, keys, f"{kind} for {subject!r}", client)
    return Refused(wrong, 422)


def check_password(
    request: Request, db: Session, household: Household | None, name: str, password: str
) -> Refused | None:
    return check_secret(
        request, db, kind="login", subject=login_name(name), secret=password,
        secret_hash=household.password_hash if household else None,
        wrong="That household name and password don't match.",
    )  # fmt: skip


@router.post("/login")
def log_in_household(request: Request, db: DbSession, form: Form) -> Response:
    data, errors = forms.parse(LoginIn, form)
    status = 422
    if data is not None:
        household = db.exec(select(Household).where(Household.login == login_name(data.name))).first()
        refused = check_password(request, db, household, data.name, data.password)
        if household is not None and refused is None:
            return log_in(request, db, household, None, "pick_member_page")
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
