"""Today, the page opened seconds before a workout: every habit's card, and what the page says beside them."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app import flips, habits, insights, pleasures
from app.models import Member


@dataclass
class Today:
    cards: list[flips.Card]
    has_enhancers: bool  # for the first steps shown while there is no habit yet
    after_peak: bool
    names: list[str]  # the member's pleasure names, for the pleasure check's suggestions


def today_of_member(db: Session, member: Member, now: datetime) -> Today:
    active = habits.habits_of_member(db, member)
    return Today(
        cards=flips.cards_of_member(db, member, active, now),
        has_enhancers=not active and bool(habits.enhancers_of_member(db, member)),
        after_peak=insights.after_peak(db, member),
        names=pleasures.names_of(db, member),
    )
