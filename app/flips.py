"""Flips: the session rule, one verdict drawn per session and never again, skipping, and reflections that are
never overwritten unseen."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from app import coin, copy
from app.db import locked
from app.models import Enhancer, Flip, FlipEnhancer, Habit, HabitEnhancer, Household, Member, Reflection
from app.schemas import ReflectionIn

# What an edit of a reflection says it saw: versions (any of them), "*" (whatever is there), or None (none).
IfMatch = tuple[int, ...] | Literal["*"] | None


class FlipRefused(Exception):
    """No flip can be drawn for this tap; the message says why in plain words."""


class SessionClosed(FlipRefused):
    """This session's flip is reflected on or skipped: the next flip waits for the next session."""

    def __init__(self, flip: Flip) -> None:
        super().__init__("This session's flip is done; the next flip is possible when the next session starts.")
        self.flip = flip


class NothingToFlip(FlipRefused):
    def __init__(self) -> None:
        super().__init__("This habit has no enhancers linked, so there is nothing to flip. Link at least one.")


class HabitArchived(FlipRefused):
    def __init__(self) -> None:
        super().__init__("This habit is archived. Restore it to flip it again.")


class KeyReused(FlipRefused):
    """An Idempotency-Key names one flip request; sent again for another habit, it is a mistake, not a retry."""

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used to flip another habit. Use a new key for each flip.")


class SessionOver(FlipRefused):
    def __init__(self) -> None:
        super().__init__("That session is over, so its skip can no longer be undone.")


class ReflectionConflict(Exception):
    """The flip has a reflection other than the one the writer saw. `stale`: the writer named an older version
    (412); otherwise they named none (409)."""

    def __init__(self, saved: Reflection | None, *, stale: bool) -> None:
        super().__init__(
            "This reflection was changed since you loaded it." if stale else "This flip already has a reflection."
        )
        self.saved = saved
        self.stale = stale


def session_end(flipped_at: datetime, every_hours: int | None, zone: ZoneInfo) -> datetime:
    """When the session of a flip drawn at `flipped_at` ends: the next local midnight, or N hours later."""
    if every_hours is not None:
        return flipped_at + timedelta(hours=every_hours)
    day = flipped_at.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass
class FlipView:
    """A flip with everything shown beside it: its habit, its verdict and its reflection."""

    flip: Flip
    habit: Habit
    verdict: list[FlipEnhancer]
    reflection: Reflection | None

    @property
    def brought(self) -> list[FlipEnhancer]:
        return [e for e in self.verdict if e.allowed]

    @property
    def left_out(self) -> list[FlipEnhancer]:
        return [e for e in self.verdict if not e.allowed]

    @property
    def commitment_text(self) -> str | None:
        if self.flip.nonce is None:
            return None
        return coin.commitment_text(self.flip.coin, ((e.name, e.allowed) for e in self.verdict), self.flip.nonce)

    @property
    def why_line(self) -> str:
        return copy.why_line([e.name for e in self.brought], [e.name for e in self.left_out])

    def in_session(self, now: datetime) -> bool:
        return now < self.flip.next_flip_at


# A flip's rows are written as plain inserts: the ORM's unit of work costs several times the statement.
FLIP_TABLE = SQLModel.metadata.tables["flip"]
INSERT_FLIP = insert(FLIP_TABLE)
VERDICT_TABLE = SQLModel.metadata.tables["flipenhancer"]
INSERT_VERDICT = insert(VERDICT_TABLE).returning(VERDICT_TABLE.c.id, sort_by_parameter_order=True)
VERDICTS = (
    select(FlipEnhancer)
    .where(col(FlipEnhancer.flip_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(FlipEnhancer.id))
)
REFLECTIONS = select(Reflection).where(col(Reflection.flip_id).in_(bindparam("ids", expanding=True)))
# Read afresh: asked again after taking the flip's lock, when another request may have saved one meanwhile.
SAVED_REFLECTION = (
    select(Reflection).where(Reflection.flip_id == bindparam("flip_id")).execution_options(populate_existing=True)
)
HABITS_BY_ID = select(Habit).where(col(Habit.id).in_(bindparam("ids", expanding=True)))
ENHANCERS_OF_HABIT = (
    select(Enhancer)
    .join(HabitEnhancer, col(HabitEnhancer.enhancer_id) == Enhancer.id)
    .where(HabitEnhancer.habit_id == bindparam("habit_id"))
    .order_by(col(Enhancer.id))
)
LINKS_OF_MEMBER = (
    select(HabitEnhancer.habit_id, func.count())
    .join(Habit, col(Habit.id) == HabitEnhancer.habit_id)
    .where(Habit.member_id == bindparam("member_id"))
    .group_by(col(HabitEnhancer.habit_id))
)
# Read afresh even when the session holds the flip already: it is asked again after taking the habit's lock.
LATEST_FLIP = (
    select(Flip)
    .where(Flip.habit_id == bindparam("habit_id"))
    .order_by(col(Flip.id).desc())
    .limit(1)
    .execution_options(populate_existing=True)
)
# A draw reads the household's time zone under a shared lock: a change of zone waits for the draw to finish,
# or the draw for the change (which moves the ends of the sessions under way), never both at once.
ZONE_FOR_DRAW = select(Household.timezone).where(Household.id == bindparam("household_id")).with_for_update(read=True)
# Each habit's newest flip, found on the (habit_id, id) index from its newest end: one seek per habit.
_NEWER = aliased(Flip, name="newer")
NEWEST_FLIPS = (
    select(Flip)
    .join(Habit, col(Habit.id) == Flip.habit_id)
    .where(
        Habit.member_id == bindparam("member_id"),
        col(Habit.archived_at).is_(None),
        col(Flip.id) == select(func.max(_NEWER.id)).where(_NEWER.habit_id == Habit.id).scalar_subquery(),
    )
)


def latest_flip(db: Session, habit: Habit) -> Flip | None:
    """The habit's newest flip: its current session's, if one is in progress (a habit's flips follow each other)."""
    return db.exec(LATEST_FLIP, params={"habit_id": habit.id}).first()


def waiting_in_session(flip: Flip | None, now: datetime) -> bool:
    """Is this flip open (no reflection, not skipped) and its session still under way?"""
    return flip is not None and flip.closed_at is None and now < flip.next_flip_at


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


def enhancers_of_habit(db: Session, habit: Habit) -> list[Enhancer]:
    return list(db.exec(ENHANCERS_OF_HABIT, params={"habit_id": habit.id}))


def flip_by_key(db: Session, member: Member, key: str) -> Flip | None:
    return db.exec(select(Flip).where(Flip.member_id == member.id, Flip.idempotency_key == key)).first()


def flip_habit(
    db: Session,
    habit: Habit,
    member: Member,
    rng: random.Random,
    now: datetime,
    key: str | None = None,
    *,
    retry: bool = True,
) -> tuple[FlipView, bool]:
    """The flip for this tap: the one already made for this key, the session's open one, or a new draw.

    Returns the flip and whether it is new. The verdict is final: nothing here ever draws twice in a session.
    Taps on the same habit take turns (the habit's lock), so the check and the draw are one step; the
    database's own constraints (one open flip per habit, one flip per key) stand behind that.
    """
    try:
        return flip_in_turn(db, habit, member, rng, now, key)
    except IntegrityError:
        # Another request got there first after all: the same key for another habit at the same moment (only
        # the habit is locked), whether drawing or giving an open flip its key. Answer as if the two had come
        # one after the other.
        db.rollback()
        if not retry:
            raise
        return flip_habit(db, habit, member, rng, now, key, retry=False)


def flip_in_turn(
    db: Session, habit: Habit, member: Member, rng: random.Random, now: datetime, key: str | None
) -> tuple[FlipView, bool]:
    habit = locked(db, habit)
    if key is not None:
        earlier = flip_by_key(db, member, key)
        if earlier is not None and earlier.habit_id != habit.id:
            raise KeyReused()
        if earlier is not None:
            return view_of(db, earlier), False
    latest = latest_flip(db, habit)
    if latest is not None and now < latest.next_flip_at:
        if latest.closed_at is not None:
            raise SessionClosed(latest)
        if key is not None and latest.idempotency_key is None:
            latest.idempotency_key = key  # a retry of this request gets this flip, also once it is closed
            db.add(latest)
            db.commit()
        return view_of(db, latest), False
    if habit.archived_at is not None:
        raise HabitArchived()
    close_if_over(db, latest, now)
    zone = ZoneInfo(db.exec(ZONE_FOR_DRAW, params={"household_id": member.household_id}).one())
    return record_flip(db, habit, member, rng, now, zone, key), True


def record_flip(
    db: Session, habit: Habit, member: Member, rng: random.Random, now: datetime, zone: ZoneInfo, key: str | None
) -> FlipView:
    """Draw the verdict, seal it (a commitment to it and a secret nonce) and store it at once."""
    enhancers = enhancers_of_habit(db, habit)
    if not enhancers:
        raise NothingToFlip()
    candidates = [coin.Candidate(e.id or 0, e.name, e.spike) for e in enhancers]
    verdict = coin.draw(coin.Policy(habit.mode, habit.chance, habit.max_stack), candidates, rng)
    assert habit.id is not None and member.id is not None
    secret = coin.nonce(rng)
    text = coin.commitment_text(verdict.coin, ((c.name, ok) for c, ok in verdict.allowed), secret)
    flip = Flip(
        habit_id=habit.id,
        member_id=member.id,
        flipped_at=now,
        next_flip_at=session_end(now, habit.every_hours, zone),
        every_hours=habit.every_hours,
        coin=verdict.coin,
        mode=habit.mode,
        chance=habit.chance,
        prompt=rng.choice(copy.PROMPTS),
        idempotency_key=key,
        nonce=secret,
        commitment=coin.commitment(text),
    )
    inserted = db.exec(INSERT_FLIP, params=flip.model_dump(exclude={"id"})).inserted_primary_key
    assert inserted is not None
    flip.id = inserted[0]
    rows = [
        FlipEnhancer(
            flip_id=flip.id, enhancer_id=c.id, name=c.name, spike=c.spike, allowed=ok, capped=c in verdict.capped
        )
        for c, ok in verdict.allowed
    ]
    ids = db.exec(INSERT_VERDICT, params=[r.model_dump(exclude={"id"}) for r in rows]).scalars()
    for row, row_id in zip(rows, ids, strict=True):
        row.id = row_id
    db.commit()
    return FlipView(flip, habit, rows, None)


def skip_flip(db: Session, flip: Flip, now: datetime) -> None:
    """Mark an open flip skipped. Its session goes on: the next flip still waits for the next session."""
    flip = locked(db, flip)
    if flip.closed_at is None:
        flip.closed_at = now
        flip.skipped = True
        db.add(flip)
        db.commit()


def undo_skip(db: Session, flip: Flip, now: datetime) -> None:
    """Open a skipped flip again, with the same verdict, while its session lasts and its habit is in use."""
    habit = db.get(Habit, flip.habit_id)
    if habit is None:
        return
    habit = locked(db, habit)  # as a draw does: the two never run at once
    flip = locked(db, flip)
    if not flip.skipped:
        return
    if habit.archived_at is not None:
        raise HabitArchived()
    latest = latest_flip(db, habit)
    if now >= flip.next_flip_at or latest is None or latest.id != flip.id:
        raise SessionOver()
    flip.closed_at = None
    flip.skipped = False
    db.add(flip)
    db.commit()


def same_reflection(saved: Reflection, data: ReflectionIn) -> bool:
    return all(getattr(saved, name) == value for name, value in data.model_dump().items())


def saved_reflection(db: Session, flip: Flip) -> Reflection | None:
    return db.exec(SAVED_REFLECTION, params={"flip_id": flip.id}).first()


def save_reflection(db: Session, flip: Flip, data: ReflectionIn, now: datetime, if_match: IfMatch) -> Reflection:
    """Save the flip's reflection, or change it when `if_match` names the version saved now.

    Sending what is saved already is harmless (a double tap). Anything else that would replace a reflection
    the writer has not seen raises ReflectionConflict with the saved one. Writers of one flip take turns (its
    lock), so two saves at once are one after the other. Reflecting closes an open flip, never its session.
    """
    flip = locked(db, flip)
    saved = saved_reflection(db, flip)
    if saved is not None and same_reflection(saved, data):
        return saved
    if if_match is None and saved is not None:
        raise ReflectionConflict(saved, stale=False)
    if if_match is not None and (saved is None or (if_match != "*" and saved.version not in if_match)):
        raise ReflectionConflict(saved, stale=True)
    if saved is None:
        saved = Reflection(flip_id=flip.id or 0, created_at=now, **data.model_dump())
    else:
        saved.sqlmodel_update(data.model_dump())
        saved.version += 1
    db.add(saved)
    flip.closed_at = flip.closed_at or now
    flip.skipped = False  # done after all
    db.add(flip)
    db.commit()
    return saved


def reflect(db: Session, flip: Flip, data: ReflectionIn, now: datetime, if_match: IfMatch) -> FlipView:
    """Save the reflection (see save_reflection) and return the flip as it is now."""
    reflection = save_reflection(db, flip, data, now, if_match)
    view = view_of(db, flip)
    view.reflection = reflection
    return view


def views_of(db: Session, flips: Sequence[Flip], habits: Sequence[Habit] = ()) -> list[FlipView]:
    """Load verdicts, reflections and habits for many flips in up to three queries: none for the habits
    already at hand, none for reflections when every flip is still open (saving a reflection closes it)."""
    ids = [f.id for f in flips]
    if not ids:
        return []
    verdicts: dict[int, list[FlipEnhancer]] = {i: [] for i in ids if i is not None}
    for row in db.exec(VERDICTS, params={"ids": ids}):
        verdicts[row.flip_id].append(row)
    closed = [f.id for f in flips if f.closed_at is not None]
    reflections = {r.flip_id: r for r in db.exec(REFLECTIONS, params={"ids": closed})} if closed else {}
    known = {h.id: h for h in habits}
    missing = list({f.habit_id for f in flips} - known.keys())
    if missing:
        known |= {h.id: h for h in db.exec(HABITS_BY_ID, params={"ids": missing})}
    return [FlipView(f, known[f.habit_id], verdicts[f.id or 0], reflections.get(f.id or 0)) for f in flips]


def view_of(db: Session, flip: Flip) -> FlipView:
    """The flip as stored now (a request's copy may be older than a write it just made) and all beside it."""
    return views_of(db, [db.get(Flip, flip.id) or flip])[0]


def flips_of_member(
    db: Session, member: Member, *, habit_id: int | None = None, before: int | None = None, limit: int = 20
) -> list[Flip]:
    """Newest first, a page at a time: `before` is the id of the last flip of the previous page."""
    query = select(Flip).where(Flip.member_id == member.id)
    if habit_id is not None:
        query = query.where(Flip.habit_id == habit_id)
    if before is not None:
        query = query.where(col(Flip.id) < before)
    return list(db.exec(query.order_by(col(Flip.id).desc()).limit(limit)))


def page_of_member(db: Session, member: Member, habit_id: int | None, before: int | None, limit: int) -> list[FlipView]:
    return views_of(db, flips_of_member(db, member, habit_id=habit_id, before=before, limit=limit))


def history_page(
    db: Session, member: Member, before: int | None, size: int, habit_id: int | None = None
) -> tuple[list[FlipView], int | None]:
    """A page of the member's flips (of one habit, if given), newest first, and the id to ask for the next (older)
    page, if any."""
    page = flips_of_member(db, member, habit_id=habit_id, before=before, limit=size + 1)
    older = page[size - 1].id if len(page) > size else None
    return views_of(db, page[:size]), older


@dataclass
class Card:
    """What Today shows of a habit: the flip of the session in progress (open, reflected or skipped), or
    else a Flip button, and an earlier session still waiting for its reflection."""

    habit: Habit
    view: FlipView | None
    waiting: Flip | None
    linked: int


def cards_of_member(db: Session, member: Member, habits: Sequence[Habit], now: datetime) -> list[Card]:
    newest = {f.habit_id: f for f in db.exec(NEWEST_FLIPS, params={"member_id": member.id})}
    current = [f for f in newest.values() if now < f.next_flip_at]
    views = {v.flip.habit_id: v for v in views_of(db, current, habits)}
    links: dict[int, int] = dict(db.exec(LINKS_OF_MEMBER, params={"member_id": member.id}).all())
    cards = []
    for habit in habits:
        flip = newest.get(habit.id or 0)
        waiting = flip if flip is not None and flip.closed_at is None and now >= flip.next_flip_at else None
        cards.append(Card(habit, views.get(habit.id or 0), waiting, links.get(habit.id or 0, 0)))
    return cards


def keep_sessions_in_new_zone(db: Session, household: Household, zone: ZoneInfo, now: datetime) -> None:
    """A household changes its time zone: a day's session under way ends at the later of its two midnights,
    the old zone's or the new one's. A new zone never shortens a session (that would be a second flip in one
    day); from the next session on, the new midnight is the rule."""
    members = select(Member.id).where(Member.household_id == household.id)
    under_way = select(Flip).where(
        col(Flip.member_id).in_(members), col(Flip.every_hours).is_(None), col(Flip.next_flip_at) > now
    )
    for flip in db.exec(under_way):
        later = session_end(flip.flipped_at, None, zone)
        if later > flip.next_flip_at:
            flip.next_flip_at = later
            db.add(flip)
