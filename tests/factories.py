"""Plain factory functions that put rows straight into the database, and log a test client in."""

import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import Session

from app import coin, security
from app.config import Settings
from app.flips import session_end
from app.models import (
    Coin,
    Colour,
    Enhancer,
    Flip,
    FlipEnhancer,
    Followed,
    Habit,
    HabitEnhancer,
    Household,
    Kind,
    Member,
    Mode,
    Reflection,
    login_name,
)

PASSWORD = "correct horse battery"
# Hashing with Argon2 is slow on purpose; the tests hash the shared password once.
PASSWORD_HASH = security.hash_secret(PASSWORD)


def make_household(db: Session, name: str = "Rivera", timezone: str = "UTC") -> Household:
    household = Household(name=name, login=login_name(name), password_hash=PASSWORD_HASH, timezone=timezone)
    db.add(household)
    db.commit()
    return household


def move_household(db: Session, household: Household, timezone: str) -> None:
    """Set the household's time zone in the row itself (Settings would also move sessions under way)."""
    row = db.get(Household, household.id)
    assert row is not None
    row.timezone = timezone
    db.add(row)
    db.commit()


def make_member(
    db: Session, household: Household, name: str = "Ana", pin: str | None = None, colour: Colour = Colour.blue
) -> Member:
    assert household.id is not None
    pin_hash = security.hash_secret(pin) if pin else None
    member = Member(household_id=household.id, name=name, pin_hash=pin_hash, colour=colour)
    db.add(member)
    db.commit()
    return member


def make_enhancer(db: Session, member: Member, name: str = "Music", spike: int = 2) -> Enhancer:
    assert member.id is not None
    enhancer = Enhancer(member_id=member.id, name=name, kind=Kind.media, spike=spike)
    db.add(enhancer)
    db.commit()
    return enhancer


def make_habit(
    db: Session,
    member: Member,
    name: str = "Morning run",
    enhancers: list[Enhancer] = (),  # type: ignore[assignment]
    mode: Mode = Mode.all_or_nothing,
    chance: float = 0.5,
) -> Habit:
    assert member.id is not None
    habit = Habit(member_id=member.id, name=name, why="The hills.", minimum="Walk 5 minutes", mode=mode, chance=chance)
    db.add(habit)
    db.commit()
    for enhancer in enhancers:
        assert habit.id is not None and enhancer.id is not None
        db.add(HabitEnhancer(habit_id=habit.id, enhancer_id=enhancer.id))
    db.commit()
    return habit


def make_flippable_habit(db: Session, member: Member, name: str = "Morning run") -> Habit:
    """A habit with an enhancer linked: what it takes for the coin to have something to decide."""
    return make_habit(db, member, name, [make_enhancer(db, member, f"Music for {name}")])


def log_in(client: TestClient, db: Session, settings: Settings, household: Household, member: Member | None) -> str:
    """Give the client a login cookie as the login form would, and the CSRF header htmx would send."""
    assert household.id is not None
    token = security.start_login(db, household.id, "pytest", member.id if member else None)
    db.commit()
    client.cookies.set(security.LOGIN_COOKIE, token)
    client.headers[security.CSRF_HEADER] = csrf_for(settings, token)
    return token


def csrf_for(settings: Settings, login_token: str) -> str:
    return security.csrf_token(settings.key, security.digest(login_token))


def make_flip(
    db: Session,
    habit: Habit,
    coin_side: str,
    verdict: dict[str, tuple[int, bool]] | None = None,
    reflection: tuple[int, int, str] | None = None,
    at: datetime | None = None,
) -> Flip:
    """A past flip, sealed as the app seals one: its verdict as {enhancer name: (spike, allowed)}, and
    (effort, enjoyment, followed). Its session is the UTC day it was drawn on."""
    when = at or datetime.now(UTC)
    allowed = [(name, ok) for name, (_, ok) in (verdict or {}).items()]
    nonce = secrets.token_hex(16)
    flip = Flip(habit_id=habit.id or 0, member_id=habit.member_id, coin=Coin(coin_side), prompt="How was it?",
                flipped_at=when, next_flip_at=session_end(when, habit.every_hours, ZoneInfo("UTC")),
                mode=habit.mode, chance=habit.chance, closed_at=when if reflection else None, nonce=nonce,
                commitment=coin.commitment(coin.commitment_text(coin_side, allowed, nonce)))  # fmt: skip
    db.add(flip)
    db.flush()
    for name, (spike, ok) in (verdict or {}).items():
        db.add(FlipEnhancer(flip_id=flip.id or 0, name=name, spike=spike, allowed=ok))
    if reflection:
        effort, enjoyment, followed = reflection
        db.add(Reflection(flip_id=flip.id or 0, effort=effort, enjoyment=enjoyment, followed=Followed(followed)))
    db.commit()
    return flip
