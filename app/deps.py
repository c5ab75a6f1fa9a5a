"""Typed dependencies: the database (app.db), who is asking, and lookups scoped to them (404 otherwise)."""

import random
import secrets
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from app import i18n, security, tokens
from app.config import Settings
from app.db import Database, Sql, loaded, with_columns
from app.headers import asks_api
from app.i18n import N_
from app.models import Enhancer, Flip, Habit, Household, LoginSession, Member, utcnow

# Ids fit a 32-bit integer column on every database: a larger one would be a database error, not a 404.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# The page to go on to after logging in and picking who's this ("?next=/insights"); app.templating.local_path
# decides whether it is followed.
NextQuery = Annotated[str | None, Query(alias="next")]
SYSTEM_RANDOM = secrets.SystemRandom()


class LoginRequired(Exception):
    """Nobody is logged in: browsers go to the login page, the API answers 401."""


class MemberRequired(Exception):
    """Logged in, but no member picked yet on this device: browsers go to "who's this?"."""


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Every dependency is `async def`: FastAPI runs a plain `def` one in the thread pool, a hop that costs more
# than these take. The ones that need the database ask app.db's read() and write().


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_rng() -> random.Random:
    """The coin's randomness: a CSPRNG in production, a seeded Random in tests."""
    return SYSTEM_RANDOM


async def app_settings(request: Request) -> Settings:
    return get_settings(request)


async def get_now(request: Request) -> datetime:
    """The clock: now, in UTC. Tests override it to cross a midnight without waiting for one. Pages read it
    from the request too, so "today" and "tomorrow" on them mean the same moment as the rule that ran."""
    now = request.state.now = utcnow()
    return now


Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Rng = Annotated[random.Random, Depends(get_rng)]
Now = Annotated[datetime, Depends(get_now)]


def cookie_name(request: Request, base: str) -> str:
    """Over HTTPS a cookie is prefixed: __Host- at the root, __Secure- under a sub-path (Path=/ is __Host-'s rule)."""
    if request.url.scheme != "https":
        return base
    return ("__Secure-" if request.scope.get("root_path") else "__Host-") + base


def cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(request, base))


def is_api(request: Request) -> bool:
    """Whether the JSON API is asked: by the route the request matched, else (nothing matched, or not routed
    yet) by its path less the sub-path. Never by the URL as sent: a proxy may keep the sub-path or strip it."""
    route = getattr(request.scope.get("route"), "path", None)
    return route.startswith("/api/") if route else asks_api(request.scope)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and is_api(request) else None


async def login_and_member(request: Request, db: Database) -> tuple[LoginSession, Member | None] | None:
    """This device's login and the member picked on it, looked up once per request: a page that needs both the
    login (CurrentLogin, CurrentHousehold) and the member (CurrentMember) asks twice."""
    if hasattr(request.state, "login_and_member"):
        known: tuple[LoginSession, Member | None] | None = request.state.login_and_member
        return known
    request.state.login_and_member = found = await look_up_login(request, db)
    return found


async def look_up_login(request: Request, db: Database) -> tuple[LoginSession, Member | None] | None:
    found = await db.read_plain(security.find_login, cookie(request, security.LOGIN_COOKIE))
    if found is None:
        request.state.login = None
        return None
    login, member, timezone = found
    if member is not None:
        i18n.use(member.language)
    if security.needs_touch(login):
        await db.write(security.touch_login, login)
    request.state.login = login
    request.state.timezone = timezone
    return login, member


async def optional_login(request: Request, db: Db) -> LoginSession | None:
    found = await login_and_member(request, db)
    return found[0] if found else None


OptionalLogin = Annotated[LoginSession | None, Depends(optional_login)]


async def require_login(login: OptionalLogin) -> LoginSession:
    if login is None:
        raise LoginRequired
    return login


CurrentLogin = Annotated[LoginSession, Depends(require_login)]


async def current_household(login: CurrentLogin, db: Db) -> Household:
    household = await db.read(Session.get, Household, login.household_id)
    if household is None:
        raise LoginRequired
    return household


CurrentHousehold = Annotated[Household, Depends(current_household)]


async def current_member(request: Request, db: Db) -> Member:
    """The member acting: from a bearer token (API only) or the member picked on this device."""
    token = bearer_token(request)
    if token is not None:
        found = await db.read_plain(tokens.find, token)
        if found is None:
            raise LoginRequired
        api_token, member, request.state.timezone = found
        now = utcnow()
        if tokens.needs_touch(api_token, now):
            await db.write(tokens.touch, api_token, now)
    else:
        login = await login_and_member(request, db)
        if login is None:
            raise LoginRequired
        picked = login[1]  # of the login's own household: the query joins on both
        if picked is None:
            raise MemberRequired
        member = picked
    request.state.member = member
    return member


CurrentMember = Annotated[Member, Depends(current_member)]


async def household_zone(request: Request, member: CurrentMember) -> ZoneInfo:
    """The acting member's household's time zone: the day a session lasts, and every time shown."""
    return ZoneInfo(request.state.timezone)


HouseholdZone = Annotated[ZoneInfo, Depends(household_zone)]


Owned = TypeVar("Owned", Member, Habit, Enhancer, Flip)


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="Not found")


# Asked by every request about one object (a flip, a habit, …), so in plain SQL: the object only if it is the
# asker's (its member's, or for a member its household's).
OWNED: dict[type[Any], str] = {
    Member: with_columns("SELECT {o.*} FROM member o WHERE o.id = :id AND o.household_id = :owner_id", o=Member),
    Habit: with_columns("SELECT {o.*} FROM habit o WHERE o.id = :id AND o.member_id = :owner_id", o=Habit),
    Enhancer: with_columns("SELECT {o.*} FROM enhancer o WHERE o.id = :id AND o.member_id = :owner_id", o=Enhancer),
    Flip: with_columns("SELECT {o.*} FROM flip o WHERE o.id = :id AND o.member_id = :owner_id", o=Flip),
}


def owned(sql: Sql, model: type[Owned], object_id: int, owner_id: int | None) -> Owned:
    """The object with this id if its owner is the one asking, else a 404: one query."""
    found = sql.one(OWNED[model], id=object_id, owner_id=owner_id)
    if found is None:
        raise not_found()
    return loaded(model, found)


async def owned_member(member_id: IdPath, household: CurrentHousehold, db: Db) -> Member:
    return await db.read_plain(owned, Member, member_id, household.id)


async def owned_habit(habit_id: IdPath, member: CurrentMember, db: Db) -> Habit:
    return await db.read_plain(owned, Habit, habit_id, member.id)


async def owned_enhancer(enhancer_id: IdPath, member: CurrentMember, db: Db) -> Enhancer:
    return await db.read_plain(owned, Enhancer, enhancer_id, member.id)


async def owned_flip(flip_id: IdPath, member: CurrentMember, db: Db) -> Flip:
    return await db.read_plain(owned, Flip, flip_id, member.id)


OwnedMember = Annotated[Member, Depends(owned_member)]
OwnedHabit = Annotated[Habit, Depends(owned_habit)]
OwnedEnhancer = Annotated[Enhancer, Depends(owned_enhancer)]
OwnedFlip = Annotated[Flip, Depends(owned_flip)]


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def csrf_binding(request: Request) -> str:
    """What the CSRF token is bound to: the login cookie, or before login an anonymous cookie."""
    login_token = cookie(request, security.LOGIN_COOKIE)
    if login_token:
        return security.digest(login_token)
    anon = cookie(request, security.ANON_COOKIE) or getattr(request.state, "fresh_anon", None)
    if anon is None:
        anon = request.state.fresh_anon = secrets.token_urlsafe(24)
    return str(anon)


def same_origin(request: Request, settings: Settings) -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    # The host the page was asked from (AllowedHosts has vouched for it), or the public URL's behind a proxy.
    ours = (request.headers.get("Host", ""), urlsplit(settings.public_url or "").netloc)
    return urlsplit(origin).netloc.lower() in {host.lower() for host in ours if host}


async def check_csrf(request: Request) -> None:
    """Refuse unsafe requests that could come from another site; bearer-token API calls carry no cookie."""
    if request.method in SAFE_METHODS or bearer_token(request) is not None:
        return
    settings = get_settings(request)
    if not same_origin(request, settings):
        raise HTTPException(status_code=403, detail=N_("Cross-site request refused"))
    candidate = request.headers.get(security.CSRF_HEADER)
    if candidate is None and request.headers.get("Content-Type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(security.CSRF_FIELD)
        candidate = value if isinstance(value, str) else None
    if not security.csrf_matches(settings.key, csrf_binding(request), candidate):
        raise HTTPException(
            status_code=403, detail=N_("This form has expired. Go back, reload the page and try again.")
        )
