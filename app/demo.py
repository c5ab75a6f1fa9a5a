"""Sample history drawn by the real coin, back-dated day by day: to try the insights on a fresh instance, and
for tests and benchmarks (one flip per session means history can't be made any faster through the app)."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app import flips, habits, pleasures
from app.db import Sql
from app.models import Enhancer, Followed, Habit, Kind, Member, Mode
from app.schemas import HabitIn, PleasureIn, ReflectionIn

MAX_DAYS = 3650
ENHANCERS = (("Music", Kind.media, 2), ("Coffee", Kind.drink, 2), ("Pre-workout", Kind.substance, 3),
             ("Podcast", Kind.media, 1))  # fmt: skip


@dataclass(frozen=True)
class DemoHabit:
    habit: HabitIn
    enhancers: tuple[str, ...]
    hour: int  # when its sessions usually start, local time


HABITS = (
    DemoHabit(
        HabitIn(name="Morning run (sample)", emoji="🏃", why="The hills: I choose the hard part.",
                minimum="Walk 10 minutes", mode=Mode.all_or_nothing, chance=0.5),
        ("Music", "Coffee"), 7,
    ),
    DemoHabit(
        HabitIn(name="Gym (sample)", emoji="🏋️", why="Showing up when it's heavy.", minimum="One set of each",
                mode=Mode.each, chance=0.5, max_stack=2),
        ("Music", "Pre-workout", "Podcast"), 18,
    ),
)  # fmt: skip
NOTES = (
    "The last kilometre, I stopped bargaining and just ran.",
    "Heavy legs at the start; by the middle the work felt clean.",
    "No music: I heard my breathing and kept it even.",
    "Wanted to stop at the third set. Did it slower instead.",
    "Easy day. Still showed up, and that was the point.",
    "The hill hurt and I leaned into it.",
    "",
    "",
)


class DemoError(ValueError):
    """The member has demo habits already (their history would collide with the new one)."""


@dataclass
class Summary:
    sessions: int = 0
    skipped: int = 0
    reflected: int = 0
    pleasure_checks: int = 0


def local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def add_demo(
    db: Session, member: Member, zone: ZoneInfo, days: int, rng: random.Random, today: date
) -> tuple[list[Habit], Summary]:
    """Give the member the demo enhancers (theirs where the name matches), two habits (one per mode) and `days`
    days of sessions before `today`, each drawn by the real coin when it happened: reflections of varied effort
    and enjoyment, some coins not (or partly) followed, some skips and rest days, and pleasure checks."""
    if not 1 <= days <= MAX_DAYS:
        raise DemoError(f"Days go from 1 to {MAX_DAYS}.")
    taken = {h.name.casefold() for h in habits.every_habit(db, member)}
    if any(d.habit.name.casefold() in taken for d in HABITS):
        raise DemoError(f"{member.name} has demo habits already.")
    own = {e.name.casefold(): e for e in habits.enhancers_of_member(db, member)}
    for name, kind, spike in ENHANCERS:
        if name.casefold() not in own:
            own[name.casefold()] = Enhancer(member_id=member.id or 0, name=name, kind=kind, spike=spike)
            db.add(own[name.casefold()])
    db.flush()
    made = []
    for demo in HABITS:
        ids = [own[n.casefold()].id or 0 for n in demo.enhancers]
        data = demo.habit.model_copy(update={"enhancer_ids": ids})
        made.append(habits.save_habit(db, member, Habit(member_id=member.id or 0, name=data.name), data))
    summary = Summary()
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        progress = 1 - back / days  # bare sessions grow more enjoyable over the period
        for habit, demo in zip(made, HABITS, strict=True):
            if rng.random() < 0.2:
                continue  # a rest day
            at = local(day, demo.hour, rng.randrange(60), zone)
            session(db, member, habit, at, rng, progress, summary)
        pleasure_day(db, member, day, zone, rng, summary)
    return made, summary


def session(
    db: Session, member: Member, habit: Habit, at: datetime, rng: random.Random, progress: float,
    summary: Summary,
) -> None:  # fmt: skip
    view, _ = flips.flip_habit(Sql.of(db), habit, member, rng, at)
    summary.sessions += 1
    later = at + timedelta(minutes=45 + rng.randrange(60))
    roll = rng.random()
    if roll < 0.07:
        flips.skip_flip(db, view.flip, later)
        summary.skipped += 1
        return
    if roll < 0.1:
        return  # never reflected on
    bare = not view.brought
    enjoyment = round((4.5 + 3.5 * progress if bare else 7.0) + rng.gauss(0, 1.3))
    followed = rng.choices([Followed.yes, Followed.partly, Followed.no], [0.8, 0.12, 0.08])[0]
    reflection = ReflectionIn(
        effort=min(10, max(1, round(6.5 + rng.gauss(0, 1.6)))),
        enjoyment=min(10, max(1, enjoyment)),
        followed=followed,
        note=rng.choice(NOTES),
    )
    flips.save_reflection(Sql.of(db), view.flip, reflection, later, None)
    summary.reflected += 1


def pleasure_day(db: Session, member: Member, day: date, zone: ZoneInfo, rng: random.Random, summary: Summary) -> None:
    """Coffee most mornings (a second cup is enjoyed less and craved more), social media on some evenings."""
    cups = rng.choice([0, 1, 1, 1, 2, 2])
    for cup in range(cups):
        at = local(day, 8 + 5 * cup, rng.randrange(60), zone)
        enjoyment = min(10, max(1, round(8 - 3 * cup + rng.gauss(0, 1))))
        craving = min(10, max(1, round(4 + 2 * cup + rng.gauss(0, 1))))
        pleasures.record(db, member, PleasureIn(name="Coffee", enjoyment=enjoyment, craving=craving), at)
        summary.pleasure_checks += 1
    if rng.random() < 0.4:
        at = local(day, 21, rng.randrange(60), zone)
        data = PleasureIn(name="Social media", enjoyment=rng.randint(2, 6), craving=rng.randint(5, 9))
        pleasures.record(db, member, data, at)
        summary.pleasure_checks += 1
