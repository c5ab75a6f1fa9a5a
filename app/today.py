"""Today, the page opened seconds before a workout: every habit's card, and what the page says beside them."""

from dataclasses import dataclass
from datetime import datetime

from app import flips, habits, insights, pleasures
from app.db import Sql
from app.models import Member

HAS_ENHANCERS = "SELECT 1 FROM enhancer WHERE member_id = :member_id LIMIT 1"


@dataclass
class Today:
    cards: list[flips.Card]
    has_enhancers: bool  # for the first steps shown while there is no habit yet
    after_peak: bool
    names: list[str]  # the member's pleasure names, for the pleasure check's suggestions


def today_of_member(sql: Sql, member: Member, now: datetime) -> Today:
    """In plain SQL (app.db.Sql): the page opened most."""
    active = habits.habits_of_member(sql, member)
    return Today(
        cards=flips.cards_of_member(sql, member, active, now),
        has_enhancers=not active and sql.one(HAS_ENHANCERS, member_id=member.id) is not None,
        after_peak=insights.after_peak(sql, member),
        names=pleasures.names_of(sql, member),
    )
