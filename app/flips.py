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
from app.db import Gone, Sql, as_loaded, columns, loaded, locked, with_columns
from app.i18n import N_, gettext
from app.models import Coin, Enhancer, Flip, FlipEnhancer, Habit, Household, Member, Reflection, Seal, SealEnhancer
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


# An offline reveal's refusals are the JSON API's `detail` (English, for scripts); the phone that sent the reveal
# shows them in its page's language (base.html's #words, by the English words: static/offline.js).
SEAL_NOT_CURRENT = N_(
    "This sealed flip is no longer this habit's next one (its enhancers or coin changed since this phone loaded "
    "it), so it can't be revealed. Reload and flip again."
)
REVEAL_DIFFERS = N_("That is not the verdict this seal holds, so it was refused. The sealed verdict stands.")
REVEAL_REFUSALS = (SEAL_NOT_CURRENT, REVEAL_DIFFERS)


class SealNotCurrent(FlipRefused):
    """An offline reveal of a seal that is not the habit's current one, nor revealed already: redrawn since (the
    habit's enhancers or coin changed), or made up."""

    def __init__(self) -> None:
        super().__init__(SEAL_NOT_CURRENT)


class RevealDiffers(FlipRefused):
    """An offline reveal naming a verdict other than the one sealed: the seal decides, never the phone."""

    def __init__(self) -> None:
        super().__init__(REVEAL_DIFFERS)


@dataclass(frozen=True)
class Reveal:
    """A sealed flip revealed on a phone with no signal, sent once the phone is back online."""

    commitment: str
    coin: Coin
    enhancers: tuple[tuple[str, bool], ...]  # (name, allowed), as the phone showed them
    revealed_at: datetime

    def names(self, coin_side: Coin, verdict: Sequence[FlipEnhancer] | Sequence[SealEnhancer]) -> bool:
        """Is this the verdict stored? The order of the enhancers doesn't matter, their names' case neither."""
        said = sorted((name.casefold(), ok) for name, ok in self.enhancers)
        return coin_side == self.coin and said == sorted((e.name.casefold(), e.allowed) for e in verdict)


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


@dataclass
class SealView:
    """A habit's sealed next verdict: the card shows its commitment; the verdict stays out of sight until the tap.

    Out of sight, not out of reach: a phone needs it to reveal with no signal, so it rides in the page's source. A
    seal names enhancers and was drawn under a chance, so changing either draws it anew (app.habits.save_habit):
    someone who reads the source could re-roll that way. That is a deliberate act against oneself, on a tool one
    uses on oneself; nothing else, a reload or a second phone or a replay, ever changes a seal or its verdict."""

    seal: Seal
    verdict: list[SealEnhancer]

    @property
    def commitment_text(self) -> str:
        return coin.commitment_text(self.seal.coin, ((e.name, e.allowed) for e in self.verdict), self.seal.nonce)

    def for_phone(self) -> dict[str, object]:
        """What a phone needs to reveal it offline (static/offline.js), kept out of the page's visible content."""
        return {
            "commitment": self.seal.commitment,
            "sealed_at": self.seal.sealed_at.isoformat(),
            "coin": self.seal.coin.value,
            "enhancers": [{"name": e.name, "allowed": e.allowed} for e in self.verdict],
            "prompt": self.seal.prompt,
            "text": self.commitment_text,
        }


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
    commitment, sealed_at, mode, chance, every_hours, idempotency_key, closed_at)
    VALUES (:habit_id, :member_id, :flipped_at, :next_flip_at, :coin, :prompt, FALSE, :nonce, :commitment,
    :sealed_at, :mode, :chance, :every_hours, :idempotency_key, NULL) RETURNING id"""
FLIP_OF_SEAL = with_columns(
    "SELECT {f.*} FROM flip f WHERE f.habit_id = :habit_id AND f.commitment = :commitment", f=Flip
)
# A seal and its verdict in one query: the seal's columns, then the verdict row's.
SEAL_ROWS = """SELECT {s.*}, {e.*} FROM seal s JOIN sealenhancer e ON e.seal_id = s.id"""
SEAL_OF_HABIT = with_columns(SEAL_ROWS + " WHERE s.habit_id = :habit_id ORDER BY e.id", s=Seal, e=SealEnhancer)
SEALS_OF_MEMBER = with_columns(
    SEAL_ROWS + " JOIN habit h ON h.id = s.habit_id WHERE h.member_id = :member_id AND h.archived_at IS NULL"
    " ORDER BY e.id",
    s=Seal,
    e=SealEnhancer,
)
INSERT_SEAL = """INSERT INTO seal (habit_id, coin, prompt, nonce, commitment, sealed_at)
    VALUES (:habit_id, :coin, :prompt, :nonce, :commitment, :sealed_at) RETURNING id"""
INSERT_SEAL_VERDICT = """INSERT INTO sealenhancer (seal_id, enhancer_id, name, spike, allowed, capped)
    VALUES (:seal_id, :enhancer_id, :name, :spike, :allowed, :capped) RETURNING id"""
DROP_SEAL = "DELETE FROM seal WHERE habit_id = :habit_id"
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
    sql: Sql,
    habit: Habit,
    member: Member,
    rng: random.Random,
    now: datetime,
    key: str | None = None,
    reveal: Reveal | None = None,
) -> tuple[FlipView, bool]:
    """The flip for this tap: the one already made for this key (or this seal), the session's open one, or the
    habit's sealed verdict revealed (drawn now if it has none yet).

    Returns the flip and whether it is new. The verdict is final: nothing here ever draws twice in a session.
    Taps on the same habit take turns (the habit's lock), so the check and the reveal are one step; the
    database's own constraints (one open flip per habit, one flip per key, one seal per habit) stand behind that.
    `reveal`: the phone revealed the seal offline; accepted only for the habit's current seal, and only as the
    verdict that seal holds (see reveal_at).
    """
    with sql.savepoint("draw"):
        try:
            return flip_in_turn(sql, habit, member, rng, now, key, reveal)
        except sql.IntegrityError:
            # Another request got there first after all: the same key for another habit at the same moment
            # (only the habit is locked), whether drawing or giving an open flip its key. Answer as if the two
            # had come one after the other.
            sql.run("ROLLBACK TO SAVEPOINT draw")
            return flip_in_turn(sql, habit, member, rng, now, key, reveal)


def flip_in_turn(
    sql: Sql, habit: Habit, member: Member, rng: random.Random, now: datetime, key: str | None, reveal: Reveal | None
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
    if reveal is not None:
        revealed = sql.one(FLIP_OF_SEAL, habit_id=habit.id, commitment=reveal.commitment)
        if revealed is not None:  # a replay, or the same seal revealed from another phone: that same flip
            view = view_of(sql, loaded(Flip, revealed))
            if not reveal.names(view.flip.coin, view.verdict):
                raise RevealDiffers()
            return view, False
    latest = latest_flip(sql, habit)
    seal = current_seal(sql, habit)
    at = now
    if reveal is not None:
        at = reveal_at(reveal, seal, latest, now)
    elif latest is not None and now < latest.next_flip_at:
        if latest.closed_at is not None:
            raise SessionClosed(latest)
        if key is not None and latest.idempotency_key is None:
            sql.run(GIVE_KEY, key=key, id=latest.id)  # a retry of this request gets this flip, also once closed
        return view_of(sql, latest), False
    if habit.archived_at is not None:
        raise HabitArchived()
    close_if_over(sql, latest, now)
    zone = ZoneInfo(sql.one(sql.locking(ZONE_FOR_DRAW, share=True), household_id=member.household_id)[0])
    view = record_flip(sql, habit, member, rng, at, zone, key, seal)
    seal_habit(sql, habit, rng, now)  # in place of the one revealed: the next session's, sealed before its tap
    return view, True


def reveal_at(reveal: Reveal, seal: SealView | None, latest: Flip | None, now: datetime) -> datetime:
    """When an offline reveal counts as made: the phone's time, kept within what is possible. Not after now (a
    phone's clock running fast), not before the seal existed nor before the previous session ended (one running
    slow): a phone's clock never costs its owner the flip. Refused unless it names the current seal and its
    verdict, and while another flip's session is still under way."""
    if seal is None or seal.seal.commitment != reveal.commitment:
        raise SealNotCurrent()
    if not reveal.names(seal.seal.coin, seal.verdict):
        raise RevealDiffers()
    if latest is not None and now < latest.next_flip_at:
        raise SealNotCurrent()
    earliest = max(seal.seal.sealed_at, latest.next_flip_at if latest is not None else seal.seal.sealed_at)
    return min(max(reveal.revealed_at, earliest), now)


def current_seal(sql: Sql, habit: Habit) -> SealView | None:
    return seals_of(sql.all(SEAL_OF_HABIT, habit_id=habit.id)).get(habit.id or 0)


def seals_of(rows: Sequence[Sequence[object]]) -> dict[int, SealView]:
    """Seals and their verdicts from SEAL_ROWS, by habit."""
    width = len(columns(Seal).names)
    seals: dict[int, SealView] = {}
    for row in rows:
        seal = loaded(Seal, row[:width])
        view = seals.setdefault(seal.habit_id, SealView(seal, []))
        view.verdict.append(loaded(SealEnhancer, row[width:]))
    return seals


def seal_habit(sql: Sql, habit: Habit, rng: random.Random, now: datetime) -> SealView | None:
    """Draw the habit's next verdict and seal it, in place of any seal it had; None without enhancers."""
    sql.run(DROP_SEAL, habit_id=habit.id)
    enhancers = enhancers_of_habit(sql, habit)
    if not enhancers:
        return None
    verdict = draw(habit, enhancers, rng)
    secret = coin.nonce(rng)
    text = coin.commitment_text(verdict.coin, ((c.name, ok) for c, ok in verdict.allowed), secret)
    fields = {"habit_id": habit.id, "coin": verdict.coin, "prompt": rng.choice(copy.PROMPTS), "nonce": secret,
              "commitment": coin.commitment(text), "sealed_at": now}  # fmt: skip
    seal_id = sql.one(INSERT_SEAL, **{**fields, "coin": verdict.coin.value})[0]
    rows = []
    for c, ok in verdict.allowed:
        row = {"seal_id": seal_id, "enhancer_id": c.id, "name": c.name, "spike": c.spike, "allowed": ok,
               "capped": c in verdict.capped}  # fmt: skip
        rows.append(as_loaded(SealEnhancer, id=sql.one(INSERT_SEAL_VERDICT, **row)[0], **row))
    return SealView(as_loaded(Seal, id=seal_id, **fields), rows)


def seal_habits(sql: Sql, habit_ids: Sequence[int], rng: random.Random, now: datetime) -> None:
    """Seal each of these habits that has enhancers and no seal yet (Today found them so: new, changed, or from
    before seals). Each in its habit's turn, so two pages asking at once seal a habit once."""
    for habit_id in habit_ids:
        found = sql.one(sql.locking(HABIT), id=habit_id)
        if found is not None and not sql.all(SEAL_OF_HABIT, habit_id=habit_id):
            seal_habit(sql, loaded(Habit, found), rng, now)


def draw(habit: Habit, enhancers: list[Enhancer], rng: random.Random) -> coin.Verdict:
    candidates = [coin.Candidate(e.id or 0, e.name, e.spike) for e in enhancers]
    return coin.draw(coin.Policy(habit.mode, habit.chance, habit.max_stack), candidates, rng)


def record_flip(
    sql: Sql,
    habit: Habit,
    member: Member,
    rng: random.Random,
    now: datetime,
    zone: ZoneInfo,
    key: str | None,
    seal: SealView | None = None,
) -> FlipView:
    """Store the session's verdict at once: the seal's, or (a habit with no seal yet) one drawn and sealed now."""
    if seal is None:
        seal = seal_habit(sql, habit, rng, now)
        if seal is None:
            raise NothingToFlip()
    fields = {
        "habit_id": habit.id,
        "member_id": member.id,
        "flipped_at": now,
        "next_flip_at": session_end(now, habit.every_hours, zone),
        "coin": seal.seal.coin,
        "prompt": seal.seal.prompt,
        "nonce": seal.seal.nonce,
        "commitment": seal.seal.commitment,
        "sealed_at": seal.seal.sealed_at,
        "mode": habit.mode,
        "chance": habit.chance,
        "every_hours": habit.every_hours,
        "idempotency_key": key,
    }
    flip_id = sql.one(INSERT_FLIP, **{**fields, "coin": seal.seal.coin.value, "mode": habit.mode.value})[0]
    flip = as_loaded(Flip, id=flip_id, **fields, skipped=False, closed_at=None)
    rows = []
    for e in seal.verdict:
        row = {"flip_id": flip_id, "enhancer_id": e.enhancer_id, "name": e.name, "spike": e.spike,
               "allowed": e.allowed, "capped": e.capped}  # fmt: skip
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
    seal: SealView | None = None  # the verdict the Flip button reveals, sealed in advance

    @property
    def unsealed(self) -> bool:
        """Would this card offer Flip with no seal to show? (Today then seals it, see seal_habits.)"""
        return self.view is None and self.linked > 0 and self.seal is None and self.habit.archived_at is None


def cards_of_member(sql: Sql, member: Member, habits: Sequence[Habit], now: datetime) -> list[Card]:
    newest = {f.habit_id: f for f in (loaded(Flip, found) for found in sql.all(NEWEST_FLIPS, member_id=member.id))}
    current = [f for f in newest.values() if now < f.next_flip_at]
    views = {v.flip.habit_id: v for v in views_of(sql, current, habits)}
    links: dict[int, int] = {habit_id: count for habit_id, count in sql.all(LINKS_OF_MEMBER, member_id=member.id)}
    seals = seals_of(sql.all(SEALS_OF_MEMBER, member_id=member.id))
    cards = []
    for habit in habits:
        flip = newest.get(habit.id or 0)
        waiting = flip if flip is not None and flip.closed_at is None and now >= flip.next_flip_at else None
        view = views.get(habit.id or 0)
        seal = seals.get(habit.id or 0) if view is None else None
        cards.append(Card(habit, view, waiting, links.get(habit.id or 0, 0), seal))
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
