"""Habits: a member's habits with their flip policy and linked enhancers; archived, not deleted, once they
have a history."""

from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from app import coin
from app.db import lock
from app.models import Enhancer, Flip, Habit, HabitEnhancer, Member
from app.schemas import HabitIn, HabitPatch


class UnknownEnhancer(ValueError):
    """An enhancer id that is not one of the member's own."""


class HabitBusy(Exception):
    """The habit can't be archived or deleted now; the message says why and what to do, `until` from when."""

    def __init__(self, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.until = until


# Statements asked on every Today page and flip are built once, with bound parameters, so SQLAlchemy reuses
# their compiled form: building a statement costs more than running it on SQLite.
HABITS_OF_MEMBER = (
    select(Habit)
    .where(Habit.member_id == bindparam("member_id"), col(Habit.archived_at).is_(None))
    .order_by(col(Habit.id))
)
ENHANCERS_OF_HABIT = (
    select(Enhancer)
    .join(HabitEnhancer, col(HabitEnhancer.enhancer_id) == Enhancer.id)
    .where(HabitEnhancer.habit_id == bindparam("habit_id"))
    .order_by(col(Enhancer.id))
)
# Read afresh even when the session holds the flip already: it is asked again after taking the habit's lock.
LATEST_FLIP = (
    select(Flip)
    .where(Flip.habit_id == bindparam("habit_id"))
    .order_by(col(Flip.id).desc())
    .limit(1)
    .execution_options(populate_existing=True)
)
LINKS_OF_MEMBER = (
    select(HabitEnhancer.habit_id, func.count())
    .join(Habit, col(Habit.id) == HabitEnhancer.habit_id)
    .where(Habit.member_id == bindparam("member_id"))
    .group_by(col(HabitEnhancer.habit_id))
)


def habits_of_member(db: Session, member: Member) -> list[Habit]:
    """The member's habits in use (not archived), oldest first: Today's order."""
    return list(db.exec(HABITS_OF_MEMBER, params={"member_id": member.id}))


def archived_habits(db: Session, member: Member) -> list[Habit]:
    query = select(Habit).where(Habit.member_id == member.id, col(Habit.archived_at).is_not(None))
    return list(db.exec(query.order_by(col(Habit.name))))


def every_habit(db: Session, member: Member) -> list[Habit]:
    return list(db.exec(select(Habit).where(Habit.member_id == member.id).order_by(col(Habit.id))))


def enhancers_of_member(db: Session, member: Member) -> list[Enhancer]:
    return list(db.exec(select(Enhancer).where(Enhancer.member_id == member.id).order_by(col(Enhancer.name))))


def enhancer_ids_of(db: Session, habit: Habit) -> list[int]:
    rows = db.exec(select(HabitEnhancer.enhancer_id).where(HabitEnhancer.habit_id == habit.id))
    return sorted(rows)


def enhancers_of_habit(db: Session, habit: Habit) -> list[Enhancer]:
    return list(db.exec(ENHANCERS_OF_HABIT, params={"habit_id": habit.id}))


def linked_counts(db: Session, member: Member) -> dict[int, int]:
    """How many enhancers each of the member's habits has linked (habits with none are missing)."""
    return dict(db.exec(LINKS_OF_MEMBER, params={"member_id": member.id}).all())


def latest_flip(db: Session, habit: Habit) -> Flip | None:
    """The habit's newest flip: its current session's, if one is in progress (a habit's flips follow each other)."""
    return db.exec(LATEST_FLIP, params={"habit_id": habit.id}).first()


def link_enhancers(db: Session, member: Member, habit: Habit, enhancer_ids: list[int]) -> None:
    wanted = set(enhancer_ids)
    own = {e.id for e in enhancers_of_member(db, member)}
    if not wanted <= own:
        raise UnknownEnhancer("Pick enhancers from your own list.")
    assert habit.id is not None
    for link in db.exec(select(HabitEnhancer).where(HabitEnhancer.habit_id == habit.id)):
        db.delete(link)
    db.flush()
    for enhancer_id in sorted(wanted):
        db.add(HabitEnhancer(habit_id=habit.id, enhancer_id=enhancer_id))


def save_habit(db: Session, member: Member, habit: Habit, data: HabitIn | HabitPatch) -> Habit:
    """Apply the given fields (all of a HabitIn, the sent ones of a HabitPatch) and commit.

    A changed policy applies from the next session: the flip of a session in progress keeps its own end.
    """
    patch = isinstance(data, HabitPatch)
    fields = data.model_dump(exclude_unset=patch, exclude={"enhancer_ids"})
    for name, value in fields.items():
        if value is not None or name in ("max_stack", "every_hours"):
            setattr(habit, name, value)
    coin.Policy(habit.mode, habit.chance, habit.max_stack)
    assert member.id is not None
    habit.member_id = member.id
    db.add(habit)
    db.flush()
    if data.enhancer_ids is not None:
        link_enhancers(db, member, habit, data.enhancer_ids)
    db.commit()
    return habit


def close_if_over(db: Session, flip: Flip | None, now: datetime) -> Flip | None:
    """A flip still waiting for its reflection after its session is over stops being open (it can still be
    reflected on later). Returns the flip if it is still open, in its session."""
    if flip is None or flip.closed_at is not None:
        return None
    if now < flip.next_flip_at:
        return flip
    flip.closed_at = flip.next_flip_at
    db.add(flip)
    return None


def archive_habit(db: Session, habit: Habit, now: datetime) -> None:
    """Off Today, history kept. Not while its flip waits for a reflection: that session isn't finished."""
    lock(db, Habit, habit.id)
    if close_if_over(db, latest_flip(db, habit), now) is not None:
        raise HabitBusy(f"{habit.name} has a flip waiting for its reflection. Reflect on it or skip it first.")
    habit.archived_at = habit.archived_at or now
    db.add(habit)
    db.commit()


def restore_habit(db: Session, habit: Habit) -> None:
    """Back on Today. A session that was closed before archiving stays closed: its flip keeps its end."""
    habit.archived_at = None
    db.add(habit)
    db.commit()


def delete_habit(db: Session, habit: Habit, now: datetime) -> None:
    """Gone for good, with its history: only from the archive, and only once its last session is over
    (otherwise deleting and adding it again would be a way to flip twice in one session)."""
    lock(db, Habit, habit.id)
    latest = latest_flip(db, habit)
    if latest is not None and habit.archived_at is None:
        raise HabitBusy(f"{habit.name} has a history. Archive it first; it can be deleted from the archive.")
    if latest is not None and now < latest.next_flip_at:
        raise HabitBusy(
            f"{habit.name}'s last session is still in progress. It can be deleted for good once it is over.",
            until=latest.next_flip_at,
        )
    db.delete(habit)
    db.commit()
