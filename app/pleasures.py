"""Pleasure checks: a one-tap log of an everyday pleasure, how much it was enjoyed and how much it was craved."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

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


def checks_of(db: Session, member: Member, name: str | None = None, limit: int = 100) -> list[PleasureCheck]:
    """The member's latest checks (of one pleasure, if named), newest first."""
    query = select(PleasureCheck).where(PleasureCheck.member_id == member.id)
    if name is not None:
        query = query.where(PleasureCheck.name == name)
    return list(db.exec(query.order_by(col(PleasureCheck.logged_at).desc()).limit(limit)))


@dataclass(frozen=True)
class PleasureSummary:
    name: str
    count: int
    last: datetime
    enjoyment: float
    craving: float


def summaries(db: Session, member: Member) -> list[PleasureSummary]:
    """Each pleasure the member logged, the latest logged first."""
    last = func.max(PleasureCheck.logged_at)
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to four columns
            PleasureCheck.name, func.count(), last, func.avg(PleasureCheck.enjoyment), func.avg(PleasureCheck.craving)
        )
        .where(PleasureCheck.member_id == member.id)
        .group_by(PleasureCheck.name)
        .order_by(last.desc())
    )
    return [
        PleasureSummary(name, count, as_datetime(at), round(float(enjoyment), 1), round(float(craving), 1))
        for name, count, at, enjoyment, craving in db.exec(query)
    ]


def as_datetime(value: datetime | str) -> datetime:
    """An aggregate's timestamp: SQLite gives back the text it stores."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class PleasureLog:
    """The Pleasure checks page: what was logged, and the names its form offers."""

    pleasures: list[PleasureSummary]
    names: list[str]


def pleasure_log(db: Session, member: Member) -> PleasureLog:
    return PleasureLog(summaries(db, member), names_of(db, member))
