"""Pleasure checks: a one-tap log of an everyday pleasure, and what spacing does to its enjoyment."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Float, cast, func
from sqlmodel import Session, col, select

from app.db import Sql, dialect_of
from app.i18n import N_, gettext, ngettext
from app.models import NAME_MAX, Member, PleasureCheck, utcnow
from app.schemas import PleasureIn
from app.stats import Mean, mean_of

# Translators: everyday pleasures offered in one tap on a pleasure check; logged under the name in your language.
SUGGESTED = (N_("Coffee"), N_("Social media"), N_("Sweets"), N_("Phone"), N_("TV series"))
SHORT_GAP = timedelta(hours=24)  # pleasure checks closer together than this count as a short gap
# Asked on every Today page, so in plain SQL (app.db.Sql).
# The latest logged first: the form's first chips are what the member logs now.
NAMES_OF_MEMBER = """
SELECT name FROM pleasurecheck WHERE member_id = :member_id GROUP BY name ORDER BY max(logged_at) DESC, name
"""


def names_of(sql: Sql, member: Member) -> list[str]:
    """The member's own pleasures first, the latest logged first, then the suggestions they haven't used (in the
    page's language)."""
    own = [name for (name,) in sql.all(NAMES_OF_MEMBER, member_id=member.id)]
    return own + [s for s in map(gettext, SUGGESTED) if s not in own]


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


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class PleasureLog:
    """The Pleasure checks page: what was logged, and the names its form offers."""

    pleasures: list[PleasureSummary]
    names: list[str]


def pleasure_log(db: Session, member: Member) -> PleasureLog:
    return PleasureLog(summaries(db, member), names_of(Sql.of(db), member))


# What spacing does to a pleasure. The SQL mixes SQLModel's field types with SQLAlchemy's typed expressions,
# which mypy cannot reconcile: the few lines where they meet carry an ignore rather than a cast.


def local_day(column: ColumnElement[datetime], dialect: str, zone: ZoneInfo) -> ColumnElement[date]:
    """The household's calendar date of a timestamp (SQLite through app.db's local_date function)."""
    if dialect == "sqlite":
        return func.local_date(column, zone.key)
    return cast(func.timezone(zone.key, column), Date)


def seconds_between(
    later: ColumnElement[datetime], earlier: ColumnElement[datetime], dialect: str
) -> ColumnElement[float]:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


@dataclass(frozen=True)
class DayPoint:
    day: date
    enjoyment: float
    craving: float


def pleasure_days(db: Session, member: Member, name: str, zone: ZoneInfo) -> list[DayPoint]:
    day = local_day(col(PleasureCheck.logged_at), dialect_of(db), zone)  # type: ignore[arg-type]
    query = (
        select(day.label("day"), func.avg(PleasureCheck.enjoyment), func.avg(PleasureCheck.craving))
        .where(PleasureCheck.member_id == member.id, PleasureCheck.name == name)
        .group_by(day)
        .order_by(day)
    )
    return [DayPoint(as_date(d), round(float(e), 2), round(float(c), 2)) for d, e, c in db.exec(query)]


def spacing(db: Session, member: Member, name: str) -> tuple[Mean, Mean]:
    """Enjoyment after a short gap (under a day since the previous check) vs. a long one."""
    previous = func.lag(PleasureCheck.logged_at).over(order_by=PleasureCheck.logged_at)  # type: ignore[arg-type]
    gaps = (
        select(
            PleasureCheck.enjoyment.label("enjoyment"),  # type: ignore[attr-defined]
            seconds_between(col(PleasureCheck.logged_at), previous, dialect_of(db)).label("gap"),  # type: ignore[arg-type]
        )
        .where(PleasureCheck.member_id == member.id, PleasureCheck.name == name)
        .subquery()
    )
    short = gaps.c.gap < SHORT_GAP.total_seconds()
    query = (
        select(
            short.label("short"),
            func.count(),
            func.sum(gaps.c.enjoyment),
            func.sum(gaps.c.enjoyment * gaps.c.enjoyment),
        )
        .where(gaps.c.gap.is_not(None))
        .group_by(short)
    )
    rows = {bool(s): (n, total, squares) for s, n, total, squares in db.exec(query)}
    short_row, long_row = rows.get(True, (0, 0, 0)), rows.get(False, (0, 0, 0))
    return mean_of(short_row[0], float(short_row[1] or 0), float(short_row[2] or 0)), mean_of(
        long_row[0], float(long_row[1] or 0), float(long_row[2] or 0)
    )


LATEST_CHECKS = 10  # listed on a pleasure's page
PLEASURE_DAYS = 60  # charted on a pleasure's page


@dataclass(frozen=True)
class PleasureInsights:
    """A pleasure's page: its latest checks, enjoyment and craving by day, and what spacing does to it."""

    latest: list[PleasureCheck]
    days: list[DayPoint]
    short: Mean  # enjoyment after a gap under SHORT_GAP
    long: Mean
    short_gap_hours: int = int(SHORT_GAP.total_seconds() // 3600)


def pleasure_insights(db: Session, member: Member, name: str, zone: ZoneInfo) -> PleasureInsights | None:
    """None if the member never logged this pleasure."""
    latest = checks_of(db, member, name[:NAME_MAX], LATEST_CHECKS)
    if not latest:
        return None
    short, long = spacing(db, member, name)
    return PleasureInsights(latest, pleasure_days(db, member, name, zone)[-PLEASURE_DAYS:], short, long)


def since(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, in words and in the page's language: "3 hours ago", "vor 2 Tagen"."""
    seconds = ((now or utcnow()) - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            # Translators: how long ago a pleasure was last logged, in "last %(ago)s" and "Last one %(ago)s.".
            if unit == "day":
                return ngettext("%(num)s day ago", "%(num)s days ago", count)
            if unit == "hour":
                return ngettext("%(num)s hour ago", "%(num)s hours ago", count)
            return ngettext("%(num)s minute ago", "%(num)s minutes ago", count)
    return gettext("moments ago")
