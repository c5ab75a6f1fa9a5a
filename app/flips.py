"""Flips: the session rule, one verdict drawn per session and never again, skipping, and reflections that are
never overwritten unseen."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app import coin, copy
from app.db import Gone, Sql, as_loaded, loaded, locked, with_columns
from app.i18n import gettext
from app.models import Enhancer, Flip, FlipEnhancer, Habit, Household, Member, Reflection
from app.schemas import ReflectionIn

# What an edit of a reflection says it saw: versions (any of them), "*" (whatever is there), or None (none).
IfMatch = tuple[int, ...] | Literal["*"] | None


class FlipRefused(Exception):
    """No flip can be drawn for this tap; the message says why in plain words."""


class SessionClosed(FlipRefused):
    """This session's flip is reflected on or skipped: the next flip waits for the next session."""

    def __init__(self, flip: Flip) -> None:
        super().__init__(
            gettext("This session's flip is done; the next flip is possible when the next session starts.")
        )
        self.flip = flip


class NothingToFlip(FlipRefused):
    def __init__(self) -> None:
        super().__init__(gettext("This habit has no enhancers linked, so there is nothing to flip. Link at least one."))


class HabitArchived(FlipRefused):
    def __init__(self) -> None:
        super().__init__(gettext("This habit is archived. Restore it to flip it again."))


class KeyReused(FlipRefused):
    """An Idempotency-Key names one flip request; sent again for another habit, it is a mistake, not a retry."""

    def __init__(self) -> None:
        super().__init__(
            gettext("This Idempotency-Key was already used to flip another habit. Use a new key for each flip.")
        )


class SessionOver(FlipRefused):
    def __init__(self) -> None:
        super().__init__(gettext("That session is over, so its skip can no longer be undone."))


class ReflectionConflict(Exception):
    """The flip has a reflection other than the one the writer saw. `stale`: the writer named an older version
    (412); otherwise they named none (409)."""

    def __init__(self, saved: Reflection | None, *, stale: bool) -> None:
        super().__init__(
            gettext("This reflection was changed since you loaded it.")
            if stale
            else gettext("This flip already has a reflection.")
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


# Plain SQL (app.db.Sql): a tap on Flip, a reflection and Today ask these.
FLIP = with_columns("SELECT {f.*} FROM flip f WHERE f.id = :id", f=Flip)
VERDICTS = with_columns("SELECT {e.*} FROM flipenhancer e WHERE e.flip_id IN :ids ORDER BY e.id", e=FlipEnhancer)
REFLECTIONS = with_columns("SELECT {r.*} FROM reflection r WHERE r.flip_id IN :ids", r=Reflection)
HABITS_BY_ID = with_columns("SELECT {h.*} FROM habit h WHERE h.id IN :ids", h=Habit)
HABIT = with_columns("SELECT {h.*} FROM habit h WHERE h.id = :id", h=Habit)
LATEST_FLIP = with_columns("SELECT {f.*} FROM flip f WHERE f.habit_id = :habit_id ORDER BY f.id DESC LIMIT 1", f=Flip)
FLIP_BY_KEY = with_columns(
    "SELECT {f.*} FROM flip f WHERE f.member_id = :member_id AND f.idempotency_key = :key", f=Flip
)
ENHANCERS_OF_HABIT = with_columns(
    """SELECT {e.*} FROM enhancer e JOIN habitenhancer l ON l.enhancer_id = e.id
    WHERE l.habit_id = :habit_id ORDER BY e.id""",
    e=Enhancer,
)
# A draw reads the household's time zone under a shared lock: a change of zone waits for the draw to finish,
# or the draw for the change (which moves the ends of the sessions under way), never both at once.
ZONE_FOR_DRAW = "SELECT timezone FROM household WHERE id = :household_id"
INSERT_FLIP = """INSERT INTO flip (habit_id, member_id, flipped_at, next_flip_at, coin, prompt, skipped, nonce,
    commitment, mode, chance, every_hours, idempotency_key, closed_at)
    VALUES (:habit_id, :member_id, :flipped_at, :next_flip_at, :coin, :prompt, FALSE, :nonce, :commitment, :mode,
    :chance, :every_hours, :idempotency_key, NULL) RETURNING id"""
INSERT_VERDICT = """INSERT INTO flipenhancer (flip_id, enhancer_id, name, spike, allowed, capped)
    VALUES (:flip_id, :enhancer_id, :name, :spike, :allowed, :capped) RETURNING id"""
GIVE_KEY = "UPDATE flip SET idempotency_key = :key WHERE id = :id"
CLOSE = "UPDATE flip SET closed_at = :closed_at WHERE id = :id AND closed_at IS NULL"
FLIP_FOR_CHANGE = "SELECT closed_at FROM flip WHERE id = :id"
REFLECTION_OF = with_columns("SELECT {r.*} FROM reflection r WHERE r.flip_id = :flip_id", r=Reflection)
INSERT_REFLECTION = """INSERT INTO reflection (flip_id, effort, enjoyment, followed, note, version, created_at)
    VALUES (:flip_id, :effort, :enjoyment, :followed, :note, 1, :created_at)"""
UPDATE_REFLECTION = """UPDATE reflection SET effort = :effort, enjoyment = :enjoyment, followed = :followed,
    note = :note, version = version + 1 WHERE flip_id = :flip_id"""
# Reflecting closes an open flip (never its session), and a skipped one is done after all.
CLOSE_REFLECTED = "UPDATE flip SET closed_at = COALESCE(closed_at, :now), skipped = FALSE WHERE id = :id"
# Each habit's newest flip, found on the (habit_id, id) index from its newest end: one seek per habit.
NEWEST_FLIPS = with_columns(
    """SELECT {f.*} FROM flip f JOIN habit h ON h.id = f.habit_id
    WHERE h.member_id = :member_id AND h.archived_at IS NULL
    AND f.id = (SELECT MAX(newer.id) FROM flip newer WHERE newer.habit_id = h.id)""",
    f=Flip,
)
LINKS_OF_MEMBER = """SELECT l.habit_id, COUNT(*) FROM habitenhancer l JOIN habit h ON h.id = l.habit_id
    WHERE h.member_id = :member_id GROUP BY l.habit_id"""


def latest_flip(sql: Sql, habit: Habit) -> Flip | None:
    """The habit's newest flip: its current session's, if one is in progress (a habit's flips follow each other)."""
    found = sql.one(LATEST_FLIP, habit_id=habit.id)
    return loaded(Flip, found) if found else None


def waiting_in_session(flip: Flip | None, now: datetime) -> bool:
    """Is this flip open (no reflection, not skipped) and its session still under way?"""
    return flip is not None and flip.closed_at is None and now < flip.next_flip_at


def close_if_over(sql: Sql, flip: Flip | None, now: datetime) -> Flip | None:
    """A flip still waiting for its reflection after its session is over stops being open (it can still be
    reflected on later). Returns the flip if it is still open, in its session."""
    if flip is None or flip.closed_at is not None:
        return None
    if now < flip.next_flip_at:
        return flip
    sql.run(CLOSE, closed_at=flip.next_flip_at, id=flip.id)
    return None


def enhancers_of_habit(sql: Sql, habit: Habit) -> list[Enhancer]:
    return [loaded(Enhancer, row) for row in sql.all(ENHANCERS_OF_HABIT, habit_id=habit.id)]


def flip_by_key(sql: Sql, member: Member, key: str) -> Flip | None:
    found = sql.one(FLIP_BY_KEY, member_id=member.id, key=key)
    return loaded(Flip, found) if found else None


def flip_habit(
    sql: Sql, habit: Habit, member: Member, rng: random.Random, now: datetime, key: str | None = None
) -> tuple[FlipView, bool]:
    """The flip for this tap: the one already made for this key, the session's open one, or a new draw.

    Returns the flip and whether it is new. The verdict is final: nothing here ever draws twice in a session.
    Taps on the same habit take turns (the habit's lock), so the check and the draw are one step; the
    database's own constraints (one open flip per habit, one flip per key) stand behind that.
    """
    with sql.savepoint("draw"):
        try:
            return flip_in_turn(sql, habit, member, rng, now, key)
        except sql.IntegrityError:
            # Another request got there first after all: the same key for another habit at the same moment
            # (only the habit is locked), whether drawing or giving an open flip its key. Answer as if the two
            # had come one after the other.
            sql.run("ROLLBACK TO SAVEPOINT draw")
            return flip_in_turn(sql, habit, member, rng, now, key)


def flip_in_turn(
    sql: Sql, habit: Habit, member: Member, rng: random.Random, now: datetime, key: str | None
) -> tuple[FlipView, bool]:
    found = sql.one(sql.locking(HABIT), id=habit.id)
    if found is None:
        raise Gone()
    habit = loaded(Habit, found)  # as it is now that this tap holds it
    if key is not None:
        earlier = flip_by_key(sql, member, key)
        if earlier is not None and earlier.habit_id != habit.id:
            raise KeyReused()
        if earlier is not None:
            return view_of(sql, earlier), False
    latest = latest_flip(sql, habit)
    if latest is not None and now < latest.next_flip_at:
        if latest.closed_at is not None:
            raise SessionClosed(latest)
        if key is not None and latest.idempotency_key is None:
            sql.run(GIVE_KEY, key=key, id=latest.id)  # a retry of this request gets this flip, also once closed
        return view_of(sql, latest), False
    if habit.archived_at is not None:
        raise HabitArchived()
    close_if_over(sql, latest, now)
    zone = ZoneInfo(sql.one(sql.locking(ZONE_FOR_DRAW, share=True), household_id=member.household_id)[0])
    return record_flip(sql, habit, member, rng, now, zone, key), True


def record_flip(
    sql: Sql, habit: Habit, member: Member, rng: random.Random, now: datetime, zone: ZoneInfo, key: str | None
) -> FlipView:
    """Draw the verdict, seal it (a commitment to it and a secret nonce) and store it at once."""
    enhancers = enhancers_of_habit(sql, habit)
    if not enhancers:
        raise NothingToFlip()
    candidates = [coin.Candidate(e.id or 0, e.name, e.spike) for e in enhancers]
    verdict = coin.draw(coin.Policy(habit.mode, habit.chance, habit.max_stack), candidates, rng)
    secret = coin.nonce(rng)
    text = coin.commitment_text(verdict.coin, ((c.name, ok) for c, ok in verdict.allowed), secret)
    fields = {
        "habit_id": habit.id,
        "member_id": member.id,
        "flipped_at": now,
        "next_flip_at": session_end(now, habit.every_hours, zone),
        "coin": verdict.coin,
        "prompt": rng.choice(copy.PROMPTS),
        "nonce": secret,
        "commitment": coin.commitment(text),
        "mode": habit.mode,
        "chance": habit.chance,
        "every_hours": habit.every_hours,
        "idempotency_key": key,
    }
    flip_id = sql.one(INSERT_FLIP, **{**fields, "coin": verdict.coin.value, "mode": habit.mode.value})[0]
    flip = as_loaded(Flip, id=flip_id, **fields, skipped=False, closed_at=None)
    rows = []
    for c, ok in verdict.allowed:
        row = {"flip_id": flip_id, "enhancer_id": c.id, "name": c.name, "spike": c.spike, "allowed": ok,
               "capped": c in verdict.capped}  # fmt: skip
        rows.append(as_loaded(FlipEnhancer, id=sql.one(INSERT_VERDICT, **row)[0], **row))
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
    latest = latest_flip(Sql.of(db), habit)
    if now >= flip.next_flip_at or latest is None or latest.id != flip.id:
        raise SessionOver()
    flip.closed_at = None
    flip.skipped = False
    db.add(flip)
    db.commit()


def same_reflection(saved: Reflection, data: ReflectionIn) -> bool:
    return all(getattr(saved, name) == value for name, value in data.model_dump().items())


def saved_reflection(sql: Sql, flip: Flip) -> Reflection | None:
    found = sql.one(REFLECTION_OF, flip_id=flip.id)
    return loaded(Reflection, found) if found else None


def save_reflection(sql: Sql, flip: Flip, data: ReflectionIn, now: datetime, if_match: IfMatch) -> Reflection:
    """Save the flip's reflection, or change it when `if_match` names the version saved now.

    Sending what is saved already is harmless (a double tap). Anything else that would replace a reflection
    the writer has not seen raises ReflectionConflict with the saved one. Writers of one flip take turns (its
    lock), so two saves at once are one after the other. Reflecting closes an open flip, never its session.
    """
    if sql.one(sql.locking(FLIP_FOR_CHANGE), id=flip.id) is None:
        raise Gone()
    saved = saved_reflection(sql, flip)
    if saved is not None and same_reflection(saved, data):
        return saved
    if if_match is None and saved is not None:
        raise ReflectionConflict(saved, stale=False)
    if if_match is not None and (saved is None or (if_match != "*" and saved.version not in if_match)):
        raise ReflectionConflict(saved, stale=True)
    fields = data.model_dump()
    row = {**fields, "followed": data.followed.value, "flip_id": flip.id}
    if saved is None:
        sql.run(INSERT_REFLECTION, **row, created_at=now)
        saved = as_loaded(Reflection, **fields, flip_id=flip.id, version=1, created_at=now)
    else:
        sql.run(UPDATE_REFLECTION, **row)
        saved = as_loaded(Reflection, **fields, flip_id=flip.id, version=saved.version + 1, created_at=saved.created_at)
    sql.run(CLOSE_REFLECTED, now=now, id=flip.id)
    return saved


def reflect(sql: Sql, flip: Flip, data: ReflectionIn, now: datetime, if_match: IfMatch) -> FlipView:
    """Save the reflection (see save_reflection) and return the flip as it is now."""
    reflection = save_reflection(sql, flip, data, now, if_match)
    view = view_of(sql, flip)
    view.reflection = reflection
    return view


def views_of(sql: Sql, flips: Sequence[Flip], habits: Sequence[Habit] = ()) -> list[FlipView]:
    """Load verdicts, reflections and habits for many flips in up to three queries: none for the habits
    already at hand, none for reflections when every flip is still open (saving a reflection closes it)."""
    ids = [f.id for f in flips if f.id is not None]
    if not ids:
        return []
    verdicts: dict[int, list[FlipEnhancer]] = {i: [] for i in ids}
    for found in sql.all(VERDICTS, ids=ids):
        row = loaded(FlipEnhancer, found)
        verdicts[row.flip_id].append(row)
    closed = [f.id for f in flips if f.closed_at is not None and f.id is not None]
    reflections = {}
    if closed:
        reflections = {r.flip_id: r for r in (loaded(Reflection, found) for found in sql.all(REFLECTIONS, ids=closed))}
    known = {h.id: h for h in habits}
    missing = list({f.habit_id for f in flips} - known.keys())
    if missing:
        known |= {h.id: h for h in (loaded(Habit, found) for found in sql.all(HABITS_BY_ID, ids=missing))}
    return [FlipView(f, known[f.habit_id], verdicts[f.id or 0], reflections.get(f.id or 0)) for f in flips]


def view_of(sql: Sql, flip: Flip) -> FlipView:
    """The flip as stored now (a request's copy may be older than a write it just made) and all beside it."""
    found = sql.one(FLIP, id=flip.id)
    return views_of(sql, [loaded(Flip, found) if found else flip])[0]


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
    return views_of(Sql.of(db), flips_of_member(db, member, habit_id=habit_id, before=before, limit=limit))


def history_page(
    db: Session, member: Member, before: int | None, size: int, habit_id: int | None = None
) -> tuple[list[FlipView], int | None]:
    """A page of the member's flips (of one habit, if given), newest first, and the id to ask for the next (older)
    page, if any."""
    page = flips_of_member(db, member, habit_id=habit_id, before=before, limit=size + 1)
    older = page[size - 1].id if len(page) > size else None
    return views_of(Sql.of(db), page[:size]), older


@dataclass
class Card:
    """What Today shows of a habit: the flip of the session in progress (open, reflected or skipped), or
    else a Flip button, and an earlier session still waiting for its reflection."""

    habit: Habit
    view: FlipView | None
    waiting: Flip | None
    linked: int


def cards_of_member(sql: Sql, member: Member, habits: Sequence[Habit], now: datetime) -> list[Card]:
    newest = {f.habit_id: f for f in (loaded(Flip, found) for found in sql.all(NEWEST_FLIPS, member_id=member.id))}
    current = [f for f in newest.values() if now < f.next_flip_at]
    views = {v.flip.habit_id: v for v in views_of(sql, current, habits)}
    links: dict[int, int] = {habit_id: count for habit_id, count in sql.all(LINKS_OF_MEMBER, member_id=member.id)}
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
