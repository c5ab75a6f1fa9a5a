"""The habit and member insights: with or without enhancers, bare weeks, the coin audit, peaks and stacking load."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, cast, exists, func, literal_column, select
from sqlmodel import Session, col

from app.db import Sql, dialect_of
from app.habits import every_habit
from app.i18n import N_
from app.models import Enhancer, Flip, FlipEnhancer, Followed, Habit, Member, Mode, PleasureCheck, Reflection
from app.pleasures import PleasureSummary, as_date, summaries
from app.stats import MIN_SAMPLE, Z95, Mean, binomial_range, longest_run, mean_of, median, run_range

AUDIT_STRIP = 60  # the latest outcomes drawn as a strip
PEAK = 9  # enjoyment at or above which the after-a-peak note appears
LOAD_NOTE_FACTOR = 1.5  # a week this much above the member's usual gets a gentle note


@dataclass(frozen=True)
class Comparison:
    label: str
    effort: Mean
    enjoyment: Mean


def week_start(column: ColumnElement[datetime], dialect: str, zone: ZoneInfo) -> ColumnElement[date]:
    """The Monday of a timestamp's week, in the household's time zone."""
    if dialect == "sqlite":
        return func.date(func.local_date(column, zone.key), "weekday 0", "-6 days")
    return cast(func.date_trunc("week", func.timezone(zone.key, column)), Date)


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
    # English here (the API's insights carry them); marked, and translated where a page shows them.
    labels = {"with": N_("With enhancers"), "without": N_("Without enhancers"), "not followed": N_("Coin not followed")}
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
        label = N_("came along") if allowed else N_("stayed home")
        by_name.setdefault(name, {})[bool(allowed)] = aggregates(label, n, (e, e2), (j, j2))
    came, stayed = aggregates("came along", 0, (0, 0), (0, 0)), aggregates("stayed home", 0, (0, 0), (0, 0))
    return [(name, groups.get(True, came), groups.get(False, stayed)) for name, groups in by_name.items()]


@dataclass(frozen=True)
class WeekPoint:
    week: date
    n: int
    enjoyment: float


def bare_weeks(db: Session, habit: Habit, zone: ZoneInfo) -> list[WeekPoint]:
    """Mean enjoyment of the effort in followed sessions without enhancers, by week."""
    week = week_start(col(Flip.flipped_at), dialect_of(db), zone).label("week")
    query = (
        select(week, func.count(), func.avg(Reflection.enjoyment))
        .select_from(Flip)
        .join(Reflection, col(Reflection.flip_id) == Flip.id)
        .where(Flip.habit_id == habit.id, Reflection.followed == Followed.yes, ~any_allowed(Flip.id))
        .group_by(week)
        .order_by(week)
    )
    return [WeekPoint(as_date(w), n, round(float(avg), 2)) for w, n, avg in db.exec(query)]


# The flip audit: each coin judged against a fair coin's usual ranges (app.stats.FAIR).
MIN_AUDIT = 10  # below this many flips a coin's record is shown, not judged


@dataclass(frozen=True)
class CoinRecord:
    """One coin's record: the habit's single coin (all-or-nothing: yes is heads) or one enhancer's own coin
    (each mode: yes is "its coin said come along", whether or not max_stack then kept it home)."""

    name: str  # "coin", or the enhancer's name
    n: int
    yes: int
    chance: float  # the mean chance these flips were drawn at
    low: float | None  # the 95 % interval of the share of yes
    high: float | None
    usual_yes: tuple[int, int] | None  # what a fair coin gives in 99 of 100 cases; None below MIN_AUDIT
    longest_run: int
    longest_run_yes: bool | None
    usual_run: tuple[int, int] | None
    recent: list[bool]  # oldest first
    share: float | None
    fair: bool | None  # within both usual ranges; None below MIN_AUDIT


def coin_record(name: str, outcomes: Sequence[bool], chance: float) -> CoinRecord:
    """One coin's record at one chance: a coin drawn at 90 % and then at 10 % is judged as two, not as one at
    the average 50 % (which would call an honest coin unfair)."""
    n, yes = len(outcomes), sum(outcomes)
    low = high = None
    if n:
        centre = (yes + Z95**2 / 2) / (n + Z95**2)
        half = Z95 * math.sqrt(yes * (n - yes) / n + Z95**2 / 4) / (n + Z95**2)
        low, high = round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)
    run, run_yes = longest_run(outcomes)
    usual_yes = usual_run = None
    fair = None
    if n >= MIN_AUDIT:
        usual_yes, usual_run = binomial_range(n, chance), run_range(n, chance)
        fair = usual_yes[0] <= yes <= usual_yes[1] and usual_run[0] <= run <= usual_run[1]
    return CoinRecord(
        name=name, n=n, yes=yes, chance=chance, low=low, high=high, usual_yes=usual_yes, longest_run=run,
        longest_run_yes=run_yes, usual_run=usual_run, recent=list(outcomes[-AUDIT_STRIP:]),
        share=round(yes / n, 3) if n else None, fair=fair,
    )  # fmt: skip


@dataclass(frozen=True)
class Audit:
    """Is the coin fair? Flips drawn one coin for all are judged as one coin (heads against the chance);
    flips drawn a coin for each, per enhancer. "Mixed" is a summary of several coins, never an outcome of one."""

    total: int
    heads: int
    tails: int
    mixed: int
    heads_share: float | None
    coins: list[CoinRecord]
    looks_fair: bool | None  # every coin with enough flips within its usual ranges; None if none has enough
    recent: list[str]  # oldest first


def audit(db: Session, habit: Habit) -> Audit:
    """Every flip of the habit, oldest first, judged coin by coin: the one coin of flips drawn all-or-nothing,
    each enhancer's own coin of flips drawn a coin for each (by enhancer, not by name: two called Music are
    two coins), each at the chance it was drawn at."""
    flips = db.exec(
        select(Flip.id, Flip.mode, Flip.chance, Flip.coin).where(Flip.habit_id == habit.id).order_by(col(Flip.id))
    ).all()
    single: dict[float, list[bool]] = {}
    each_chance: dict[int, float] = {}
    for flip_id, mode, chance, coin in flips:
        if str(getattr(mode, "value", mode)) == "each":
            each_chance[flip_id] = chance
        else:
            single.setdefault(chance, []).append(str(getattr(coin, "value", coin)) == "heads")
    per_enhancer: dict[tuple[object, float], tuple[str, list[bool]]] = {}
    if each_chance:
        verdicts = db.exec(
            select(FlipEnhancer.flip_id, FlipEnhancer.enhancer_id, FlipEnhancer.name, FlipEnhancer.allowed,
                   FlipEnhancer.capped)
            .join(Flip, col(Flip.id) == FlipEnhancer.flip_id)
            .where(Flip.habit_id == habit.id, Flip.mode == Mode.each)
            .order_by(col(FlipEnhancer.flip_id), col(FlipEnhancer.id))
        )  # fmt: skip
        for flip_id, enhancer_id, name, allowed, capped in verdicts:
            key = (enhancer_id if enhancer_id is not None else f"deleted {name}", each_chance[flip_id])
            _, outcomes = per_enhancer.setdefault(key, (name, []))
            per_enhancer[key] = (name, outcomes)  # the newest name, if it was renamed
            outcomes.append(bool(allowed or capped))
    coins = [coin_record("coin", outcomes, chance) for chance, outcomes in sorted(single.items())]
    coins += sorted(
        (coin_record(name, outcomes, chance) for (_, chance), (name, outcomes) in per_enhancer.items()),
        key=lambda c: (c.name.casefold(), c.chance),
    )
    sides = [str(getattr(c, "value", c)) for *_, c in flips]
    judged = [c.fair for c in coins if c.fair is not None]
    return Audit(
        total=len(sides),
        heads=sides.count("heads"),
        tails=sides.count("tails"),
        mixed=sides.count("mixed"),
        heads_share=round(sides.count("heads") / len(sides), 3) if sides else None,
        coins=coins,
        looks_fair=all(judged) if judged else None,
        recent=sides[-AUDIT_STRIP:],
    )


# The latest reflection of each habit is its newest reflected flip (a habit's flips close one after the other:
# a new one cannot start while one is open), found on the (habit_id, id) index from the newest end. Ordering
# all of a member's flips by when they closed instead sorted the whole history on every Today page.
# Asked on every Today page, so in plain SQL (app.db.Sql).
LATEST_ENJOYMENT = """SELECT r.enjoyment FROM habit h
    JOIN flip f ON f.id = (SELECT reflected.id FROM flip reflected JOIN reflection done ON done.flip_id = reflected.id
                          WHERE reflected.habit_id = h.id ORDER BY reflected.id DESC LIMIT 1)
    JOIN reflection r ON r.flip_id = f.id
    WHERE h.member_id = :member_id ORDER BY f.closed_at DESC LIMIT 1"""


def after_peak(sql: Sql, member: Member) -> bool:
    """Was the member's latest reflected session a peak (enjoyment 9 or 10)?"""
    latest = sql.one(LATEST_ENJOYMENT, member_id=member.id)
    return latest is not None and latest[0] >= PEAK


@dataclass(frozen=True)
class LoadWeek:
    week: date
    load: int  # the sum of spikes of the enhancers used, pleasure checks of enhancer-like pleasures included
    stacked_sessions: int  # sessions that used two or more enhancers
    high: bool


def stacking_load(db: Session, member: Member, zone: ZoneInfo) -> list[LoadWeek]:
    """Per week: the spikes of the enhancers actually used (allowed and followed) across all of the member's
    habits, plus pleasure checks named like one of the member's enhancers."""
    dialect = dialect_of(db)
    week = week_start(col(Flip.flipped_at), dialect, zone).label("week")
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
    pleasure_week = week_start(col(PleasureCheck.logged_at), dialect, zone).label("week")
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


@dataclass(frozen=True)
class HabitInsights:
    """Everything the habit's insights page shows, and the API returns."""

    habit_id: int
    comparisons: list[Comparison]
    enhancers: list[tuple[str, Comparison, Comparison]]
    bare_weeks: list[WeekPoint]
    audit: Audit
    min_sample: int = MIN_SAMPLE
    min_audit: int = MIN_AUDIT


def habit_insights(db: Session, habit: Habit, zone: ZoneInfo) -> HabitInsights:
    return HabitInsights(
        habit_id=habit.id or 0,
        comparisons=with_without(db, habit),
        enhancers=per_enhancer(db, habit),
        bare_weeks=bare_weeks(db, habit, zone),
        audit=audit(db, habit),
    )


LOAD_WEEKS = 12  # the weeks the stacking load chart shows


@dataclass(frozen=True)
class MemberInsights:
    """Everything the insights page shows: the load of the latest weeks (a note if one of the last two is high),
    every habit (archived ones too: their history stays), and the pleasures logged."""

    load: list[LoadWeek]
    high_week: LoadWeek | None
    habits: list[Habit]
    pleasures: list[PleasureSummary]


def member_insights(db: Session, member: Member, zone: ZoneInfo) -> MemberInsights:
    load = stacking_load(db, member, zone)
    high_week = next((w for w in reversed(load[-2:]) if w.high), None)
    return MemberInsights(load[-LOAD_WEEKS:], high_week, every_habit(db, member), summaries(db, member))
