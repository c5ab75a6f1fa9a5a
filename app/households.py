"""Households: the account's own settings that the rules read (so far its time zone)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.db import locked
from app.flips import keep_sessions_in_new_zone
from app.models import Household


def set_time_zone(db: Session, household: Household, name: str, now: datetime) -> None:
    """Every time shown, and the day a session lasts, follow the new zone; sessions under way never end sooner."""
    household = locked(db, household)  # a draw reads the zone under a shared lock: one waits for the other
    household.timezone = name
    db.add(household)
    keep_sessions_in_new_zone(db, household, ZoneInfo(name), now)
    db.commit()
