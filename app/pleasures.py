"""Pleasure checks: a one-tap log of an everyday pleasure, how much it was enjoyed and how much it was craved."""

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from app.models import Member, PleasureCheck
from app.schemas import PleasureIn

SUGGESTED = ("Coffee", "Social media", "Sweets", "Phone", "TV series")
NAMES_OF_MEMBER = (  # built once: asked on every Today page
    select(PleasureCheck.name).where(PleasureCheck.member_id == bindparam("member_id")).distinct()
)


def names_of(db: Session, member: Member) -> list[str]:
    """The member's own pleasures first, then the suggestions they haven't used."""
    own = list(db.exec(NAMES_OF_MEMBER, params={"member_id": member.id}))
    return sorted(own) + [s for s in SUGGESTED if s not in own]


def record(db: Session, member: Member, data: PleasureIn, now: datetime) -> PleasureCheck:
    assert member.id is not None
    check = PleasureCheck(member_id=member.id, logged_at=now, **data.model_dump())
    db.add(check)
    db.commit()
    return check
