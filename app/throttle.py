"""Who may try what: a password or PIN is checked only when the throttle allows, outside any lock, a few at once.

Every try is counted *before* its hash is checked, in a short writing transaction of its own (SQLite's
BEGIN IMMEDIATE; PostgreSQL's row locks), so a parallel burst from any number of processes or replicas gets
exactly as many checks as the throttle allows; a right secret takes its count back. Tries are counted per
account from one place (the client's address, or a known device) with growing delays after a few, and per
account from anywhere only past a much higher threshold. A device that has given the right secret before is
its own place and never meets the account-wide count: nobody else's guesses lock it out. Nothing is ever
locked for good: the waits are capped, and a quiet hour forgives.
"""

import logging
import math
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from fastapi import Request, Response
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select
from starlette.concurrency import run_in_threadpool

from app import security
from app.db import Database
from app.deps import cookie
from app.i18n import gettext, ngettext
from app.models import Household, KnownDevice, LoginSession, Member, Throttle, login_name, utcnow
from app.templating import set_cookie

# This many tries from one place are free, then each one doubles the wait, up to the cap.
FREE_PER_PLACE = 5
# From anywhere at all (many addresses guessing at one account): a household's login, a member's PIN.
FREE_PER_ACCOUNT = {"login": 100, "pin": 20}
MAX_WAIT = timedelta(minutes=15)
FORGIVEN_AFTER = timedelta(hours=1)
KNOWN_FOR = timedelta(days=400)  # as long as the device cookie lives
# Each Argon2 check takes ~64 MB and a core for a tenth of a second: a flood of logins waits here, not in memory.
HASHES_AT_ONCE = 2
DEVICE_COOKIE = "coinflip_device"
log = logging.getLogger("coinflip.security")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Account:
    kind: str  # "login" (a household, by its login name) or "pin" (a member, by id)
    subject: str

    def key(self, *place: str) -> str:
        return security.digest("\x1f".join((self.kind, self.subject, *place)))


@dataclass(frozen=True)
class Refused:
    message: str
    status: int  # 429 while throttled, 422 for a wrong secret


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wait_for(failures: int, free: int) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - free + 1)), MAX_WAIT)


def in_words(seconds: int) -> str:
    if seconds >= 90:
        return ngettext("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))
    return ngettext("a second", "%(num)s seconds", seconds)


def keys_for(
    db: Session, account: Account, address: str, device: str | None, now: datetime, logged_in: int | None = None
) -> dict[str, int]:
    """The throttle's keys for a try, each with its free tries. A device logged in to the household (asking for
    its password again, say to change it) is a known place too, as is a device cookie known for the account."""
    if logged_in is not None:
        return {account.key("login", str(logged_in)): FREE_PER_PLACE}
    if device is not None:
        known = db.get(KnownDevice, account.key("device", device))
        if known is not None and now - known.last_success_at < KNOWN_FOR:
            return {account.key("device", device): FREE_PER_PLACE}
    return {account.key("address", address): FREE_PER_PLACE, account.key(): FREE_PER_ACCOUNT[account.kind]}


def insert_missing(db: Session, table: type[SQLModel], rows: list[dict[str, object]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, on either database."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.exec(dialect.insert(table).values(rows).on_conflict_do_nothing())


def count_try(db: Session, keys: dict[str, int], now: datetime) -> int:
    """Count one try against every key, unless one of them says to wait: then the seconds to wait, and nothing
    counted. The rows are locked until the caller commits, so the check and the count are one step."""
    db.exec(delete(Throttle).where(col(Throttle.last_failure_at) < now - FORGIVEN_AFTER))
    insert_missing(db, Throttle, [{"key": key, "failures": 0, "last_failure_at": now} for key in keys])
    rows = db.exec(
        select(Throttle)
        .where(col(Throttle.key).in_(keys))
        .order_by(col(Throttle.key))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    # Only rows past their free tries make a try wait: a try whose request read the clock just before another
    # try was counted would otherwise find that try's time later than its own `now`, and wait for nothing.
    waits = [row.last_failure_at + w - now for row in rows if (w := wait_for(row.failures, keys[row.key]))]
    wait = max(waits, default=timedelta(0))
    if wait > timedelta(0):
        return math.ceil(wait.total_seconds())
    for row in rows:
        row.failures += 1
        row.last_failure_at = now
        db.add(row)
    return 0


def take_back(db: Session, account: Account, keys: dict[str, int], device: str, now: datetime) -> None:
    """The secret was right: this place starts afresh, the account-wide count forgets this try, and the device
    is known from now on."""
    place, *others = keys
    db.exec(delete(Throttle).where(col(Throttle.key) == place))
    for row in db.exec(select(Throttle).where(col(Throttle.key).in_(others)).with_for_update()):
        row.failures -= 1
        if row.failures > 0:
            db.add(row)
        else:
            db.delete(row)
    known = account.key("device", device)
    insert_missing(db, KnownDevice, [{"key": known, "last_success_at": now}])
    found = db.get(KnownDevice, known)
    if found is not None:
        found.last_success_at = now
        db.add(found)


def reserve(
    db: Session, account: Account, address: str, device: str | None, now: datetime, logged_in: int | None
) -> tuple[dict[str, int], int]:
    keys = keys_for(db, account, address, device, now, logged_in)
    return keys, count_try(db, keys, now)


def stored(db: Session, row: SQLModel, field: str) -> object:
    """The field as stored now (None if the row is gone)."""
    found = db.get(type(row), row.id)  # type: ignore[attr-defined]
    return getattr(found, field) if found is not None else None


async def hashing(request: Request, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run Argon2 work on the thread pool, at most HASHES_AT_ONCE per process (app.state.hash_slots; none
    without the app's lifespan, as in some tests)."""
    async with getattr(request.app.state, "hash_slots", None) or nullcontext():
        return await run_in_threadpool(work, *args, **kwargs)


async def new_hash(request: Request, secret: str) -> str:
    """Hash a new password or PIN, at most HASHES_AT_ONCE per process."""
    return await hashing(request, security.hash_secret, secret)


async def check(
    request: Request,
    db: Database,
    account: Account,
    secret: str,
    row: SQLModel | None,
    field: str,
    wrong: str,
    logged_in: int | None = None,
) -> Refused | None:
    """Check a password or PIN against `row`'s `field` (a missing row still costs a full hash, so an unknown
    name takes as long as a wrong password). None when it is right. The count is written before the hash is
    checked, and the hash is checked holding nothing.
    `logged_in`: the id of this device's login to the household whose password this is, if it has one."""
    address = client_address(request)
    device = cookie(request, DEVICE_COOKIE)
    now: datetime = getattr(request.state, "now", None) or utcnow()
    keys, wait = await db.write(reserve, account, address, device, now, logged_in)
    if wait:
        # Translators: %(time)s is "15 minutes", "a second" or "2 seconds".
        return Refused(gettext("Too many tries. Please wait %(time)s, then try again.", time=in_words(wait)), 429)
    secret_hash = getattr(row, field) if row is not None else None
    right = await hashing(request, security.verify_secret, secret, secret_hash)
    if right and row is not None:
        # Changed while the hash ran (a new password, say): the secret was right a moment ago, not now.
        right = await db.read(stored, row, field) == secret_hash
    if not right:
        log.warning("coinflip: %s for %r failed from %s", account.kind, account.subject, address)  # for fail2ban
        return Refused(wrong, 422)
    # A device id the server didn't give out for this account is never adopted: it might have been planted.
    if device is None or account.key("device", device) not in keys:
        device = secrets.token_urlsafe(24)
    request.state.device = device
    await db.write(take_back, account, keys, device, now)
    return None


def remember_device(request: Request, response: Response) -> Response:
    """Give the browser its device cookie, if a right secret just made it known (see check)."""
    device = getattr(request.state, "device", None)
    if device is not None and cookie(request, DEVICE_COOKIE) != device:
        set_cookie(request, response, DEVICE_COOKIE, device)
    return response


async def check_password(
    request: Request,
    db: Database,
    household: Household | None,
    name: str,
    password: str,
    logged_in: LoginSession | None = None,
) -> Refused | None:
    """A household's password, counted per the name it logs in with (`household` None: no such household, which
    answers as a wrong password does). `logged_in`: this device's login to the household, when it asks for the
    password again (Settings, a forgotten PIN)."""
    account = Account("login", login_name(name))
    wrong = gettext("That household name and password don't match.")
    login_id = logged_in.id if logged_in is not None else None
    return await check(request, db, account, password, household, "password_hash", wrong, login_id)


async def check_pin(request: Request, db: Database, member: Member, pin: str) -> Refused | None:
    wrong = gettext("That PIN is not right. Try again.")
    return await check(request, db, Account("pin", str(member.id)), pin, member, "pin_hash", wrong)
