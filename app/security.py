"""Password and PIN hashing, database-backed login sessions, bearer tokens and CSRF tokens."""

import hashlib
import hmac
import logging
import math
import secrets
from datetime import timedelta
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import and_, bindparam, update
from sqlmodel import Session, col, select

from app.models import ApiToken, Household, LoginSession, Member, Throttle, utcnow

LOGIN_COOKIE = "coinflip_login"
ANON_COOKIE = "coinflip_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PASSWORD_MIN = 8
# Rewriting last_seen_at on every request would make every page view a write.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)
# A phone unused for this long, or a login this old, logs in again.
IDLE_EXPIRY = timedelta(days=90)
ABSOLUTE_EXPIRY = timedelta(days=365)
# Throttling: this many failures are free, then each one doubles the wait, up to the cap; a quiet hour forgives.
# A client address is shared by a whole household behind its router, so it gets more free tries.
FREE_FAILURES = 5
FREE_FAILURES_PER_ADDRESS = 20
MAX_WAIT = timedelta(minutes=15)
FORGIVEN_AFTER = timedelta(hours=1)
COMMON_PASSWORDS = frozenset(
    line.strip().casefold()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
log = logging.getLogger("coinflip.security")

hasher = PasswordHash((Argon2Hasher(),))
# Verified against when a name is unknown, so unknown names cost as much time as wrong passwords.
DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


def hash_secret(secret: str) -> str:
    return hasher.hash(secret)


def verify_secret(secret: str, secret_hash: str | None) -> bool:
    if secret_hash is None:
        hasher.verify(secret, DUMMY_HASH)
        return False
    return hasher.verify(secret, secret_hash)


def password_problem(password: str) -> str | None:
    """Why a new password won't do, or None. No composition rules: length, and not a well-known one."""
    if len(password) < PASSWORD_MIN:
        return f"Please use at least {PASSWORD_MIN} characters."
    if password.casefold() in COMMON_PASSWORDS:
        return "That password is one of the most common ones. Please pick another; a short sentence works well."
    return None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def device_name(user_agent: str) -> str:
    browsers = ("Firefox", "Edg", "Chrome", "Safari")
    systems = ("Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux")
    browser = next((b for b in browsers if b in user_agent), "Browser").replace("Edg", "Edge")
    system = next((s for s in systems if s in user_agent), "")
    return f"{browser} on {system}" if system else browser


def start_login(db: Session, household_id: int, user_agent: str, member_id: int | None = None) -> str:
    """Create a login for a browser and return the token for its cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    name = device_name(user_agent)
    db.add(LoginSession(household_id=household_id, member_id=member_id, token_hash=digest(token), device_name=name))
    return token


# Asked on every request: built once, so SQLAlchemy reuses the compiled statement instead of building it anew.
# The household's time zone comes along: every page shows times in it.
LOGIN_BY_HASH = (
    select(LoginSession, Member, Household.timezone)
    .join(Household, col(Household.id) == LoginSession.household_id)
    .outerjoin(
        Member, and_(col(Member.id) == LoginSession.member_id, col(Member.household_id) == LoginSession.household_id)
    )
    .where(LoginSession.token_hash == bindparam("token_hash"))
)
MEMBER_BY_TOKEN_HASH = (
    select(Member, Household.timezone)
    .join(ApiToken, col(ApiToken.member_id) == Member.id)
    .join(Household, col(Household.id) == Member.household_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def find_login(db: Session, token: str | None) -> tuple[LoginSession, Member | None, str] | None:
    """The login of this cookie, the member picked on it and the household's time zone, unless the login has
    expired (idle too long, or simply too old). One query: every page asks this."""
    if not token:
        return None
    found = db.exec(LOGIN_BY_HASH, params={"token_hash": digest(token)}).first()
    if found is None:
        return None
    login, member, timezone = found
    now = utcnow()
    if now - login.last_seen_at > IDLE_EXPIRY or now - login.created_at > ABSOLUTE_EXPIRY:
        return None
    return login, member, timezone


def needs_touch(login: LoginSession) -> bool:
    return utcnow() - login.last_seen_at > LAST_SEEN_GRANULARITY


def touch_login(db: Session, login: LoginSession) -> None:
    """Note when a device was last seen (to the minutes: not every page view needs to be a write)."""
    db.exec(update(LoginSession).where(col(LoginSession.id) == login.id).values(last_seen_at=utcnow()))


def end_login(db: Session, login: LoginSession) -> None:
    db.delete(login)


def create_api_token(db: Session, member: Member) -> str:
    token = "cf_" + secrets.token_urlsafe(32)
    assert member.id is not None
    db.add(ApiToken(member_id=member.id, token_hash=digest(token)))
    return token


def find_token_member(db: Session, token: str) -> tuple[Member, str] | None:
    """The member a bearer token belongs to, and their household's time zone."""
    found = db.exec(MEMBER_BY_TOKEN_HASH, params={"token_hash": digest(token)}).first()
    return (found[0], found[1]) if found else None


def csrf_token(key: bytes, binding: str) -> str:
    """A CSRF token bound to the login (or, before login, to the anonymous cookie)."""
    return hmac.new(key, ("csrf:" + binding).encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, binding: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token(key, binding), candidate or "")


def end_other_logins(db: Session, household_id: int, keep: LoginSession | None) -> None:
    others = select(LoginSession).where(LoginSession.household_id == household_id)
    for login in db.exec(others):
        if keep is None or login.id != keep.id:
            db.delete(login)


# Throttling with growing delays, never a permanent lock-out


def address_key(kind: str, client: str) -> str:
    return f"{kind}-ip:{client}"


def wait_for(failures: int, free: int = FREE_FAILURES) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - free + 1)), MAX_WAIT)


def throttled_for(db: Session, keys: list[str]) -> int:
    """Seconds to wait before another try may be checked, for the most throttled of these keys."""
    now = utcnow()
    waits = [0]
    for row in db.exec(select(Throttle).where(col(Throttle.key).in_(keys))):
        if now - row.last_failure_at < FORGIVEN_AFTER:
            free = FREE_FAILURES_PER_ADDRESS if "-ip:" in row.key else FREE_FAILURES
            remaining = row.last_failure_at + wait_for(row.failures, free) - now
            waits.append(max(0, math.ceil(remaining.total_seconds())))
    return max(waits)


def record_failure(db: Session, keys: list[str], what: str, client: str) -> None:
    """Count a failed try against every key (the caller commits it, whatever else the request does)."""
    log.warning("coinflip: %s failed from %s", what, client)  # one line, for fail2ban
    now = utcnow()
    for key in keys:
        row = db.exec(select(Throttle).where(Throttle.key == key).with_for_update()).first()
        if row is None:
            row = Throttle(key=key, failures=0, last_failure_at=now)
        elif now - row.last_failure_at >= FORGIVEN_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        db.add(row)


def clear_failures(db: Session, key: str) -> None:
    row = db.get(Throttle, key)
    if row is not None:
        db.delete(row)
