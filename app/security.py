"""Password and PIN hashing, database-backed login sessions, bearer tokens and CSRF tokens."""

import functools
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, update
from sqlmodel import Session, col

from app.db import Sql, columns, loaded, with_columns
from app.i18n import gettext, ngettext
from app.models import LoginSession, Member, utcnow

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
COMMON_PASSWORDS = frozenset(
    line.strip().casefold()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
log = logging.getLogger("coinflip.security")

hasher = PasswordHash((Argon2Hasher(),))


@functools.cache
def dummy_hash() -> str:
    """Verified against when a name is unknown, so unknown names cost as much time as wrong passwords. Made on
    first use: at import it would add a whole Argon2 hash (~150 ms) to every start, `coinflip healthcheck` too."""
    return hasher.hash(secrets.token_urlsafe(16))


def hash_secret(secret: str) -> str:
    return hasher.hash(secret)


def verify_secret(secret: str, secret_hash: str | None) -> bool:
    if secret_hash is None:
        hasher.verify(secret, dummy_hash())
        return False
    return hasher.verify(secret, secret_hash)


def password_problem(password: str) -> str | None:
    """Why a new password won't do, or None. No composition rules: length, and not a well-known one."""
    if len(password) < PASSWORD_MIN:
        return ngettext(
            "Please use at least %(num)s character.", "Please use at least %(num)s characters.", PASSWORD_MIN
        )
    if password.casefold() in COMMON_PASSWORDS:
        return gettext(
            "That password is one of the most common ones. Please pick another; a short sentence works well."
        )
    return None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def device_name(user_agent: str) -> str:
    browsers = ("Firefox", "Edg", "Chrome", "Safari")
    systems = ("Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux")
    # Named in the language of the login, then the household's to rename.
    browser = next((b for b in browsers if b in user_agent), None) or gettext("Browser")
    system = next((s for s in systems if s in user_agent), "")
    # Translators: a device's name until the household renames it: "Chrome on Android".
    return (
        gettext("%(browser)s on %(system)s", browser=browser.replace("Edg", "Edge"), system=system)
        if system
        else browser
    )


def start_login(db: Session, household_id: int, user_agent: str, member_id: int | None = None) -> str:
    """Create a login for a browser and return the token for its cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    name = device_name(user_agent)
    db.add(LoginSession(household_id=household_id, member_id=member_id, token_hash=digest(token), device_name=name))
    return token


# Asked on every request, so in plain SQL (app.db.Sql). The household's time zone comes along: every page shows
# times in it. The member is the login's only if of the login's household.
LOGIN_BY_HASH = with_columns(
    """SELECT {l.*}, {m.*}, h.timezone FROM loginsession l
    JOIN household h ON h.id = l.household_id
    LEFT JOIN member m ON m.id = l.member_id AND m.household_id = l.household_id
    WHERE l.token_hash = :token_hash""",
    l=LoginSession,
    m=Member,
)
LOGIN_COLUMNS = len(columns(LoginSession).names)


def find_login(sql: Sql, token: str | None) -> tuple[LoginSession, Member | None, str] | None:
    """The login of this cookie, the member picked on it and the household's time zone, unless the login has
    expired (idle too long, or simply too old). One query: every page asks this."""
    if not token:
        return None
    found = sql.one(LOGIN_BY_HASH, token_hash=digest(token))
    if found is None:
        return None
    login = loaded(LoginSession, found[:LOGIN_COLUMNS])
    now = utcnow()
    if now - login.last_seen_at > IDLE_EXPIRY or now - login.created_at > ABSOLUTE_EXPIRY:
        return None
    member = loaded(Member, found[LOGIN_COLUMNS:-1]) if found[LOGIN_COLUMNS] is not None else None
    return login, member, found[-1]


def needs_touch(login: LoginSession) -> bool:
    return utcnow() - login.last_seen_at > LAST_SEEN_GRANULARITY


def touch_login(db: Session, login: LoginSession) -> None:
    """Note when a device was last seen (to the minutes: not every page view needs to be a write)."""
    db.exec(update(LoginSession).where(col(LoginSession.id) == login.id).values(last_seen_at=utcnow()))


def end_login(db: Session, login: LoginSession) -> None:
    db.delete(login)


def csrf_token(key: bytes, binding: str) -> str:
    """A CSRF token bound to the login (or, before login, to the anonymous cookie)."""
    return hmac.new(key, ("csrf:" + binding).encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, binding: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token(key, binding), candidate or "")


def end_other_logins(db: Session, household_id: int | None, keep: LoginSession | None) -> None:
    """Log out every device of the household but `keep`."""
    db.exec(
        delete(LoginSession).where(
            col(LoginSession.household_id) == household_id, col(LoginSession.id) != (keep.id if keep else None)
        )
    )


def end_member_logins(db: Session, member: Member, keep: LoginSession) -> None:
    """Log out every device on which this member is picked, but `keep`."""
    db.exec(delete(LoginSession).where(col(LoginSession.member_id) == member.id, col(LoginSession.id) != keep.id))
