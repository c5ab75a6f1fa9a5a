"""The statistics behind the insights pages: SQL aggregates, and small pure functions over their rows."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, Float, and_, bindparam, case, cast, exists, func, literal_column, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.models import Enhancer, Flip, FlipEnhancer, Followed, Habit, Member, PleasureCheck, Reflection, utcnow

MIN_SAMPLE = 3  # below this many sessions a mean is not shown, only "not enough flips yet"
AUDIT_STRIP = 60  # the latest outcomes drawn as a strip
PEAK = 9  # enjoyment at or above which the after-a-peak note appears
LOAD_NOTE_FACTOR = 1.5  # a week this much above the member's usual gets a gentle note
SHORT_GAP = timedelta(hours=24)  # pleasure checks closer together than this count as a short gap
# Two-sided 95 % t quantiles for small samples (degrees of freedom 1..30); beyond, the normal 1.96.
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Mean:
    """A sample mean with its count and 95 % interval; `value` is None below the minimum sample."""

    n: int
    value: float | None
    low: float | None
    high: float | None


def mean_of(n: int, total: float, total_squares: float) -> Mean:
    """Mean and t-interval from the count, sum and sum of squares an SQL aggregate gives."""
    if n < MIN_SAMPLE:
        return Mean(n, None, None, None)
    mean = total / n
    variance = max(0.0, (total_squares - n * mean * mean) / (n - 1))
    half = (T95[n - 2] if n - 1 <= len(T95) else 1.96) * math.sqrt(variance / n)
    return Mean(n, round(mean, 2), round(max(1.0, mean - half), 2), round(min(10.0, mean + half), 2))


@dataclass(frozen=True)
class Comparison:
    label: str
    effort: Mean
    enjoyment: Mean


def week_start(column: ColumnElement[datetime], dialect: str) -> ColumnElement[date]:
    """The Monday of a timestamp's week, in the database's own dialect."""
    if dialect == "sqlite":
        return func.date(column, "weekday 0", "-6 days")
    return cast(func.date_trunc("week", column), Date)


def seconds_between(
    later: ColumnElement[datetime], earlier: ColumnElement[datetime], dialect: str
) -> ColumnElement[float]:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return cast(func.extract("epoch", later - earlier), Float)


def dialect_of(db: Session) -> str:
    return db.get_bind().dialect.name


def any_allowed(flip_id: ColumnElement[int]) -> ColumnElement[bool]:
    return exists().where(FlipEnhancer.flip_id == flip_id, col(FlipEnhancer.allowed).is_(True))


def aggregates(
    label: str, n: int | None, effort: tuple[float | None, float | None], enjoyment: tuple[float | None, float | None]
) -> Comparison:
    count = n or 0
    return Comparison(
        label,
        mean_of(count, float(effort[0] or 0), float(effort[1] or 0)),
        mean_of(count, float(enjoyment[0] or 0), float(enjoyment[1] or 0)),
    )


SUMS = (
    func.count(),
    func.sum(Reflection.effort),
    func.sum(Reflection.effort * Reflection.effort),
    func.sum(Reflection.enjoyment),
    func.sum(Reflection.enjoyment * Reflection.enjoyment),
)


def with_without(db: Session, habit: Habit) -> list[Comparison]:
    """Followed sessions with enhancers vs. without; sessions where the coin was not followed, apart."""
    followed = Reflection.followed == Followed.yes
    group = case(
        (~followed, literal_column("'not followed'")),
        (any_allowed(Flip.id), literal_column("'with'")),
        else_=literal_column("'without'"),
    )
    query = (
        select(group.label("g"), *SUMS)
        .select_from(Flip)
        .join(Reflection, col(Reflection.flip_id) == Flip.id)
        .where(Flip.habit_id == habit.id)
        .group_by(group)
    )
    rows = {row[0]: row for row in db.exec(query)}
    labels = {"with": "With enhancers", "without": "Without enhancers", "not followed": "Coin not followed"}
    result = []
    for key, label in labels.items():
        row = rows.get(key, (key, 0, 0, 0, 0, 0))
        result.append(aggregates(label, row[1], (row[2], row[3]), (row[4], row[5])))
    return result


def per_enhancer(db: Session, habit: Habit) -> list[tuple[str, Comparison, Comparison]]:
    """For each enhancer of the habit's verdicts: followed sessions where it came along vs. stayed home."""
    query = (
        select(FlipEnhancer.name, FlipEnhancer.allowed, *SUMS)
        .select_from(FlipEnhancer)
        .join(Flip, col(Flip.id) == FlipEnhancer.flip_id)
        .join(Reflection, col(Reflection.flip_id) == Flip.id)
        .where(Flip.habit_id == habit.id, Reflection.followed == Followed.yes)
        .group_by(FlipEnhancer.name, FlipEnhancer.allowed)
        .order_by(FlipEnhancer.name)
    )
    by_name: dict[str, dict[bool, Comparison]] = {}
    for name, allowed, n, e, e2, j, j2 in db.exec(query):
        label = "came along" if allowed else "stayed home"
        by_name.setdefault(name, {})[bool(allowed)] = aggregates(label, n, (e, e2), (j, j2))
    came, stayed = aggregates("came along", 0, (0, 0), (0, 0)), aggregates("stayed home", 0, (0, 0), (0, 0))
    return [(name, groups.get(True, came), groups.get(False, stayed)) for name, groups in by_name.items()]


@dataclass(frozen=True)
class WeekPoint:
    week: date
    n: int
    enjoyment: float


def bare_weeks(db: Session, habit: Habit) -> list[WeekPoint]:
    """Mean enjoyment of the effort in followed sessions without enhancers, by week."""
    week = week_start(col(Flip.flipped_at), dialect_of(db)).label("week")
    query = (
        select(week, func.count(), func.avg(Reflection.enjoyment))
        .select_from(Flip)
        .join(Reflection, col(Reflection.flip_id) == Flip.id)
        .where(Flip.habit_id == habit.id, Reflection.followed == Followed.yes, ~any_allowed(Flip.id))
        .group_by(week)
        .order_by(week)
    )
    return [WeekPoint(as_date(w), n, round(float(avg), 2)) for w, n, avg in db.exec(query)]


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class Audit:
    total: int
    heads: int
    tails: int
    mixed: int
    longest_run: int
    longest_run_of: str | None
    recent: list[str]  # oldest first

    @property
    def heads_share(self) -> float | None:
        return round(self.heads / self.total, 3) if self.total else None


def audit(db: Session, habit: Habit) -> Audit:
    """Share of heads, the longest run of one outcome (gaps and islands, in SQL), the latest outcomes."""
    counts: dict[object, int] = dict(
        db.exec(select(Flip.coin, func.count()).where(Flip.habit_id == habit.id).group_by(Flip.coin)).all()
    )
    order = func.row_number().over(order_by=Flip.id) - func.row_number().over(partition_by=Flip.coin, order_by=Flip.id)
    islands = select(Flip.coin, order.label("island")).where(Flip.habit_id == habit.id).subquery()
    longest = db.exec(
        select(islands.c.coin, func.count().label("length"))
        .group_by(islands.c.coin, islands.c.island)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    recent = db.scalars(
        select(Flip.coin).where(Flip.habit_id == habit.id).order_by(col(Flip.id).desc()).limit(AUDIT_STRIP)
    ).all()
    values = {str(getattr(k, "value", k)): v for k, v in counts.items()}
    return Audit(
        total=sum(values.values()),
        heads=values.get("heads", 0),
        tails=values.get("tails", 0),
        mixed=values.get("mixed", 0),
        longest_run=longest[1] if longest else 0,
        longest_run_of=str(getattr(longest[0], "value", longest[0])) if longest else None,
        recent=[str(getattr(c, "value", c)) for c in reversed(recent)],
    )


# The latest reflection of each habit is its newest reflected flip (a habit's flips close one after the other:
# a new one cannot start while one is open), found on the (habit_id, id) index from the newest end. Ordering
# all of a member's flips by when they closed instead sorted the whole history on every Today page.
_REFLECTED = aliased(Flip, name="reflected")
_NEWEST_REFLECTED_FLIP = (
    select(_REFLECTED.id)
    .join(Reflection, col(Reflection.flip_id) == _REFLECTED.id)
    .where(_REFLECTED.habit_id == Habit.id)
    .order_by(col(_REFLECTED.id).desc())
    .limit(1)
    .correlate(Habit)
    .scalar_subquery()
)
LATEST_ENJOYMENT = (  # built once: asked on every Today page
    select(Reflection.enjoyment)
    .select_from(Habit)
    .join(Flip, col(Flip.id) == _NEWEST_REFLECTED_FLIP)
    .join(Reflection, col(Reflection.flip_id) == Flip.id)
    .where(Habit.member_id == bindparam("member_id"))
    .order_by(col(Flip.closed_at).desc())
    .limit(1)
)


def after_peak(db: Session, member: Member) -> bool:
    """Was the member's latest reflected session a peak (enjoyment 9 or 10)?"""
    latest = db.scalar(LATEST_ENJOYMENT, params={"member_id": member.id})
    return latest is not None and latest >= PEAK


@dataclass(frozen=True)
class LoadWeek:
    week: date
    load: int  # the sum of spikes of the enhancers used, pleasure checks of enhancer-like pleasures included
    stacked_sessions: int  # sessions that used two or more enhancers
    high: bool


def stacking_load(db: Session, member: Member) -> list[LoadWeek]:
    """Per week: the spikes of the enhancers actually used (allowed and followed) across all of the member's
    habits, plus pleasure checks named like one of the member's enhancers."""
    dialect = dialect_of(db)
    week = week_start(col(Flip.flipped_at), dialect).label("week")
    used = (
        select(Flip.id.label("flip_id"), week, func.sum(FlipEnhancer.spike).label("spikes"), func.count().label("n"))
        .select_from(Flip)
        .join(Reflection, col(Reflection.flip_id) == Flip.id)
        .join(FlipEnhancer, and_(col(FlipEnhancer.flip_id) == Flip.id, col(FlipEnhancer.allowed).is_(True)))
        .where(Flip.member_id == member.id, Reflection.followed == Followed.yes)
        .group_by(Flip.id, week)
        .subquery()
    )
    weeks: dict[date, list[int]] = {}
    per_week = select(used.c.week, func.sum(used.c.spikes), func.sum(case((used.c.n >= 2, 1), else_=0))).group_by(
        used.c.week
    )
    for w, load, stacked in db.exec(per_week):
        weeks[as_date(w)] = [int(load or 0), int(stacked or 0)]
    pleasure_week = week_start(col(PleasureCheck.logged_at), dialect).label("week")
    like_enhancer = (
        select(pleasure_week, func.sum(Enhancer.spike))
        .select_from(PleasureCheck)
        .join(
            Enhancer,
            and_(
                Enhancer.member_id == PleasureCheck.member_id,
                func.lower(Enhancer.name) == func.lower(PleasureCheck.name),
            ),
        )
        .where(PleasureCheck.member_id == member.id)
        .group_by(pleasure_week)
    )
    for w, load in db.exec(like_enhancer):
        weeks.setdefault(as_date(w), [0, 0])[0] += int(load or 0)
    return flag_high_weeks(sorted((w, v[0], v[1]) for w, v in weeks.items()))


def flag_high_weeks(weeks: Sequence[tuple[date, int, int]]) -> list[LoadWeek]:
    """A week is high when it is well above the median of the member's earlier weeks (at least three)."""
    result = []
    for i, (week, load, stacked) in enumerate(weeks):
        earlier = sorted(w[1] for w in weeks[:i])
        usual = median(earlier) if len(earlier) >= MIN_SAMPLE else None
        result.append(LoadWeek(week, load, stacked, usual is not None and load > max(usual, 1) * LOAD_NOTE_FACTOR))
    return result


def median(values: Sequence[float]) -> float:
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


# Pleasure checks


@dataclass(frozen=True)
class PleasureSummary:
    name: str
    count: int
    last: datetime
    enjoyment: float
    craving: float


def pleasures(db: Session, member: Member) -> list[PleasureSummary]:
    query = (
        select(
            PleasureCheck.name,
            func.count(),
            func.max(PleasureCheck.logged_at),
            func.avg(PleasureCheck.enjoyment),
            func.avg(PleasureCheck.craving),
        )
        .where(PleasureCheck.member_id == member.id)
        .group_by(PleasureCheck.name)
        .order_by(func.max(PleasureCheck.logged_at).desc())
    )
    return [
        PleasureSummary(n, c, as_datetime(last), round(float(e), 1), round(float(cr), 1))
        for n, c, last, e, cr in db.exec(query)
    ]


def as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class DayPoint:
    day: date
    enjoyment: float
    craving: float


def pleasure_days(db: Session, member: Member, name: str) -> list[DayPoint]:
    day = func.date(PleasureCheck.logged_at) if dialect_of(db) == "sqlite" else cast(PleasureCheck.logged_at, Date)
    query = (
        select(day.label("day"), func.avg(PleasureCheck.enjoyment), func.avg(PleasureCheck.craving))
        .where(PleasureCheck.member_id == member.id, PleasureCheck.name == name)
        .group_by(day)
        .order_by(day)
    )
    return [DayPoint(as_date(d), round(float(e), 2), round(float(c), 2)) for d, e, c in db.exec(query)]


def spacing(db: Session, member: Member, name: str) -> tuple[Mean, Mean]:
    """Enjoyment after a short gap (under a day since the previous check) vs. a long one."""
    previous = func.lag(PleasureCheck.logged_at).over(order_by=PleasureCheck.logged_at)
    gaps = (
        select(
            PleasureCheck.enjoyment.label("enjoyment"),
            seconds_between(col(PleasureCheck.logged_at), previous, dialect_of(db)).label("gap"),
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


def since(moment: datetime, now: datetime | None = None) -> str:
    """Time since, in words: "3 hours", "2 days"."""
    seconds = ((now or utcnow()) - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "moments"


@dataclass(frozen=True)
class HabitInsights:
    """Everything the habit's insights page shows, and the API returns."""

    habit_id: int
    comparisons: list[Comparison]
    enhancers: list[tuple[str, Comparison, Comparison]]
    bare_weeks: list[WeekPoint]
    audit: Audit
    min_sample: int = MIN_SAMPLE


def habit_insights(db: Session, habit: Habit) -> HabitInsights:
    return HabitInsights(
        habit_id=habit.id or 0,
        comparisons=with_without(db, habit),
        enhancers=per_enhancer(db, habit),
        bare_weeks=bare_weeks(db, habit),
        audit=audit(db, habit),
    )
