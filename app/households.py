"""Households: the account's own settings that the rules read: its time zone, its password."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app import security, tokens
from app.db import locked
from app.flips import keep_sessions_in_new_zone
from app.models import Household, LoginSession, login_name


def named(db: Session, name: str) -> Household | None:
    """The household that logs in with this name (spaces collapsed, case folded), if there is one."""
    return db.exec(select(Household).where(Household.login == login_name(name))).first()


def set_time_zone(db: Session, household: Household, name: str, now: datetime) -> None:
    """Every time shown, and the day a session lasts, follow the new zone; sessions under way never end sooner."""
    household = locked(db, household)  # a draw reads the zone under a shared lock: one waits for the other
    household.timezone = name
    db.add(household)
    keep_sessions_in_new_zone(db, household, ZoneInfo(name), now)
    db.commit()


def set_password(db: Session, household: Household, password_hash: str, keep: LoginSession | None = None) -> None:
    """A new password logs out every device but `keep` and revokes every API token of the household."""
    household = locked(db, household)
    household.password_hash = password_hash
    db.add(household)
    security.end_other_logins(db, household.id, keep=keep)
    tokens.revoke_household(db, household.id)
    db.commit()
