"""Password and PIN hashing, database-backed login sessions, bearer tokens and CSRF tokens."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.db import open_session
from app.models import ApiToken, LoginSession, Member, utcnow

LOGIN_COOKIE = "coinflip_login"
ANON_COOKIE = "coinflip_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PASSWORD_MIN = 8
PIN_PATTERN = re.compile(r"\d{4}")
# Rewriting last_seen_at on every request would make every page view a write.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)

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


def find_login(db: Session, token: str | None) -> LoginSession | None:
    if not token:
        return None
    return db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).first()


def touch_login(engine: Engine, login: LoginSession) -> None:
    """Note when a device was last seen, in a short write of its own (reading requests never commit)."""
    now = utcnow()
    if now - login.last_seen_at > LAST_SEEN_GRANULARITY:
        with open_session(engine) as db:
            db.exec(update(LoginSession).where(col(LoginSession.id) == login.id).values(last_seen_at=now))
            db.commit()


def end_login(db: Session, login: LoginSession) -> None:
    db.delete(login)


def create_api_token(db: Session, member: Member) -> str:
    token = "cf_" + secrets.token_urlsafe(32)
    assert member.id is not None
    db.add(ApiToken(member_id=member.id, token_hash=digest(token)))
    return token


def find_token_member(db: Session, token: str) -> Member | None:
    return db.exec(
        select(Member).join(ApiToken, col(ApiToken.member_id) == Member.id).where(ApiToken.token_hash == digest(token))
    ).first()


def csrf_token(key: bytes, binding: str) -> str:
    """A CSRF token bound to the login (or, before login, to the anonymous cookie)."""
    return hmac.new(key, ("csrf:" + binding).encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, binding: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token(key, binding), candidate or "")
