"""Habits: a member's habits with their flip policy and linked enhancers; archived, not deleted, once they
have a history."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app import coin, copy
from app.db import Sql, loaded, lock, locked, with_columns
from app.flips import DROP_SEAL, close_if_over, latest_flip, waiting_in_session
from app.i18n import gettext
from app.models import Enhancer, Flip, Habit, HabitEnhancer, Member
from app.schemas import EnhancerIn, EnhancerPatch, HabitIn, HabitPatch


class UnknownEnhancer(ValueError):
    """An enhancer id that is not one of the member's own."""


class DuplicateName(ValueError):
    """Another of the member's habits (archived ones included: archiving a habit and adding it again under its
    name would otherwise be a second flip in one session), or of their enhancers, has this name."""


class HabitBusy(Exception):
    """The habit can't be archived or deleted now; the message says why and what to do, `until` from when."""

    def __init__(self, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.until = until


DROP_SEALS_NAMING = """DELETE FROM seal
    WHERE habit_id IN (SELECT habit_id FROM habitenhancer WHERE enhancer_id = :enhancer_id)"""

# Asked on every Today page, so in plain SQL (app.db.Sql).
HABITS_OF_MEMBER = with_columns(
    "SELECT {h.*} FROM habit h WHERE h.member_id = :member_id AND h.archived_at IS NULL ORDER BY h.id", h=Habit
)


def habits_of_member(sql: Sql, member: Member) -> list[Habit]:
    """The member's habits in use (not archived), oldest first: Today's order."""
    return [loaded(Habit, row) for row in sql.all(HABITS_OF_MEMBER, member_id=member.id)]


def archived_habits(db: Session, member: Member) -> list[Habit]:
    query = select(Habit).where(Habit.member_id == member.id, col(Habit.archived_at).is_not(None))
    return list(db.exec(query.order_by(col(Habit.name))))


def every_habit(db: Session, member: Member) -> list[Habit]:
    return list(db.exec(select(Habit).where(Habit.member_id == member.id).order_by(col(Habit.id))))


def enhancers_of_member(db: Session, member: Member) -> list[Enhancer]:
    return list(db.exec(select(Enhancer).where(Enhancer.member_id == member.id).order_by(col(Enhancer.name))))


def suggested_enhancers(enhancers: list[Enhancer]) -> list[tuple[str, str, int]]:
    """The usual boosters (name, kind, spike) the member doesn't have yet: one tap adds one."""
    names = {e.name.casefold() for e in enhancers}
    return [s for s in copy.SUGGESTED_ENHANCERS if gettext(s[0]).casefold() not in names]


def check_enhancer_name(db: Session, member_id: int, enhancer_id: int | None, name: str) -> None:
    """Names differ beyond case: "coffee" is the member's Coffee. Checked in the write, under the member's lock,
    so two adds of one name at once (two tabs, two replicas) can't both find it free."""
    lock(db, Member, member_id)
    for other in db.exec(select(Enhancer).where(Enhancer.member_id == member_id)):
        if other.id != enhancer_id and other.name.casefold() == name.casefold():
            raise DuplicateName(gettext("You have an enhancer called %(name)s already.", name=other.name))


def add_enhancer(db: Session, member: Member, data: EnhancerIn) -> Enhancer:
    assert member.id is not None
    check_enhancer_name(db, member.id, None, data.name)
    enhancer = Enhancer(member_id=member.id, **data.model_dump())
    db.add(enhancer)
    db.commit()
    return enhancer


def update_enhancer(db: Session, enhancer: Enhancer, data: EnhancerIn | EnhancerPatch) -> Enhancer:
    """Apply the given fields (all of an EnhancerIn, the sent ones of an EnhancerPatch) and commit."""
    if data.name is not None:
        check_enhancer_name(db, enhancer.member_id, enhancer.id, data.name)
    enhancer = locked(db, enhancer)
    enhancer.sqlmodel_update(data.model_dump(exclude_unset=isinstance(data, EnhancerPatch), exclude_none=True))
    db.add(enhancer)
    db.commit()
    return enhancer


def delete_enhancer(db: Session, enhancer: Enhancer) -> None:
    """Unlinked from its habits; past verdicts keep its name (the database's ON DELETE does both). The seals of
    its habits name it: they go, and Today seals those habits anew."""
    enhancer = locked(db, enhancer)
    Sql.of(db).run(DROP_SEALS_NAMING, enhancer_id=enhancer.id)
    db.delete(enhancer)
    db.commit()


def enhancer_ids_of(db: Session, habit: Habit) -> list[int]:
    rows = db.exec(select(HabitEnhancer.enhancer_id).where(HabitEnhancer.habit_id == habit.id))
    return sorted(rows)


def link_enhancers(db: Session, member: Member, habit: Habit, enhancer_ids: list[int]) -> None:
    wanted = set(enhancer_ids)
    own = {e.id for e in enhancers_of_member(db, member)}
    if not wanted <= own:
        raise UnknownEnhancer(gettext("Pick enhancers from your own list."))
    assert habit.id is not None
    for link in db.exec(select(HabitEnhancer).where(HabitEnhancer.habit_id == habit.id)):
        db.delete(link)
    db.flush()
    for enhancer_id in sorted(wanted):
        db.add(HabitEnhancer(habit_id=habit.id, enhancer_id=enhancer_id))


def check_name(db: Session, member: Member, habit: Habit, name: str) -> None:
    """Names differ beyond case, archived habits' too. Called under the member's lock (save_habit)."""
    for other in every_habit(db, member):
        if other.id != habit.id and other.name.casefold() == name.casefold():
            if other.archived_at:
                raise DuplicateName(
                    gettext(
                        "You have a habit called %(name)s already in the archive: restore it from the Habits page.",
                        name=other.name,
                    )
                )
            raise DuplicateName(gettext("You have a habit called %(name)s already.", name=other.name))


def save_habit(db: Session, member: Member, habit: Habit | None, data: HabitIn | HabitPatch) -> Habit:
    """Apply the given fields (all of a HabitIn, the sent ones of a HabitPatch) to the habit, or to a new one
    (None), and commit.

    Takes the member's lock first, as adding an enhancer does: two saves of one name at once (two tabs, two
    replicas) can't both find it free. Then the habit's, as a flip does: a flip sees the habit before or after
    the change, never half of it. A changed policy applies from the next session: the flip of a session in
    progress keeps its own end.
    """
    lock(db, Member, member.id)
    before = None if habit is None else (habit.mode, habit.chance, habit.max_stack, enhancer_ids_of(db, habit))
    if habit is None:
        assert member.id is not None and data.name is not None
        habit = Habit(member_id=member.id, name=data.name)
    elif habit.id is not None:
        habit = locked(db, habit)
    patch = isinstance(data, HabitPatch)
    if data.name is not None:
        check_name(db, member, habit, data.name)
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
        db.flush()
    if before is not None and before != (habit.mode, habit.chance, habit.max_stack, enhancer_ids_of(db, habit)):
        # Its sealed verdict names other enhancers, or was drawn under another chance: Today seals it anew (the
        # trade-off: see app.flips.SealView).
        Sql.of(db).run(DROP_SEAL, habit_id=habit.id)
    db.commit()
    return habit


def archive_habit(db: Session, habit: Habit, now: datetime) -> None:
    """Off Today, history kept. Not while its flip waits for a reflection: that session isn't finished."""
    habit = locked(db, habit)
    sql = Sql.of(db)
    if close_if_over(sql, latest_flip(sql, habit), now) is not None:
        raise HabitBusy(
            gettext("%(name)s has a flip waiting for its reflection. Reflect on it or skip it first.", name=habit.name)
        )
    habit.archived_at = habit.archived_at or now
    db.add(habit)
    db.commit()


def restore_habit(db: Session, habit: Habit) -> None:
    """Back on Today. A session that was closed before archiving stays closed: its flip keeps its end."""
    habit = locked(db, habit)
    habit.archived_at = None
    db.add(habit)
    db.commit()


def deletable_from(db: Session, habit: Habit) -> datetime | None:
    """When an archived habit can be deleted for good: the end of its last session (None: now)."""
    latest = latest_flip(Sql.of(db), habit)
    return latest.next_flip_at if latest is not None else None


@dataclass(frozen=True)
class HabitLists:
    """The Habits page: the habits in use, and the archived ones with when each can be deleted for good."""

    active: list[Habit]
    archived: list[tuple[Habit, datetime | None]]

    def name_of(self, habit_id: int | None) -> str | None:
        every = self.active + [habit for habit, _ in self.archived]
        return next((h.name for h in every if habit_id is not None and h.id == habit_id), None)


def habit_lists(db: Session, member: Member) -> HabitLists:
    archived = archived_habits(db, member)
    return HabitLists(habits_of_member(Sql.of(db), member), [(h, deletable_from(db, h)) for h in archived])


@dataclass(frozen=True)
class HabitFormView:
    """What the habit form shows beside a habit (None: a new one): the member's enhancers, those linked to it,
    and its latest flip, which decides whether it is archived or deleted, and may still wait for a reflection."""

    enhancers: list[Enhancer]
    linked: list[int]
    latest: Flip | None
    open_flip: Flip | None

    @property
    def has_history(self) -> bool:
        return self.latest is not None


def habit_form(db: Session, member: Member, habit: Habit | None, now: datetime) -> HabitFormView:
    latest = latest_flip(Sql.of(db), habit) if habit is not None else None
    linked = enhancer_ids_of(db, habit) if habit is not None else []
    open_flip = latest if waiting_in_session(latest, now) else None
    return HabitFormView(enhancers_of_member(db, member), linked, latest, open_flip)


def delete_habit(db: Session, habit: Habit, now: datetime) -> None:
    """Gone for good, with its history: only from the archive, and only once its last session is over
    (otherwise deleting and adding it again would be a way to flip twice in one session)."""
    habit = locked(db, habit)
    latest = latest_flip(Sql.of(db), habit)
    if latest is not None and habit.archived_at is None:
        raise HabitBusy(
            gettext("%(name)s has a history. Archive it first; it can be deleted from the archive.", name=habit.name)
        )
    if latest is not None and now < latest.next_flip_at:
        raise HabitBusy(
            gettext(
                "%(name)s's last session is still in progress. It can be deleted for good once it is over.",
                name=habit.name,
            ),
            until=latest.next_flip_at,
        )
    db.delete(habit)
    db.commit()
