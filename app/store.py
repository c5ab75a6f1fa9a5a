"""Reading and writing a member's records: habits and their enhancers, flips with verdicts, reflections."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

from app import coin
from app.models import Enhancer, Flip, FlipEnhancer, Habit, HabitEnhancer, Member, Reflection, utcnow
from app.schemas import HabitIn, HabitPatch, ReflectionIn

PROMPTS = (
    "Where did it get hard, and what did you do right then?",
    "What friction did you lean into today?",
    "Which moment asked the most of you, and how did you answer it?",
    "What was good about the effort itself, apart from the result?",
    "When did you want to stop, and what kept you going?",
    "What did the hardest minute feel like in your body?",
    "What did you notice when you stopped fighting the discomfort?",
    "Which part of the work would you choose again, even if it is hard?",
    "What did you tell yourself when it got tough?",
    "What small thing did you do well today?",
    "How did the effort change from the start to the end?",
    "If the effort itself was the reward today, what exactly was rewarding?",
    "What did doing it this way teach you about the work?",
    "Where did you hold back, and where did you push?",
)

SKIP_COOLDOWN = timedelta(hours=12)

SUGGESTED_ENHANCERS = (
    ("Music", "media", 2),
    ("Coffee", "drink", 2),
    ("Pre-workout", "substance", 3),
    ("Energy drink", "drink", 3),
    ("Podcast", "media", 1),
    ("Phone", "social", 2),
)


class RecentlySkipped(Exception):
    """Skipping closes a flip, but must not become a way to draw again until the coin says yes."""

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"This habit's last flip was skipped; the next flip is possible from {until:%Y-%m-%d %H:%M} UTC."
        )
        self.until = until


class UnknownEnhancer(ValueError):
    """An enhancer id that is not one of the member's own."""


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
        return why_line([e.name for e in self.brought], [e.name for e in self.left_out])


def joined(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def why_line(brought: Sequence[str], left_out: Sequence[str]) -> str:
    if not brought and not left_out:
        return "Just you and the work today. The effort is the reward."
    if not brought:
        return (
            f"No {joined(left_out).lower()} today: leaving it out at random keeps it special "
            "and moves the reward onto the effort."
        )
    if not left_out:
        return (
            f"{joined(brought)} come{'s' if len(brought) == 1 else ''} along today. Next time the coin may say no, "
            "and that is what keeps it special."
        )
    return (
        f"{joined(brought)} along, {joined(left_out).lower()} stay{'s' if len(left_out) == 1 else ''} home: "
        "an unpredictable mix keeps each one rewarding."
    )


# Statements asked on every Today page and flip are built once, with bound parameters, so SQLAlchemy reuses
# their compiled form: building a statement costs more than running it on SQLite.
HABITS_OF_MEMBER = select(Habit).where(Habit.member_id == bindparam("member_id")).order_by(col(Habit.id))
ENHANCERS_OF_HABIT = (
    select(Enhancer)
    .join(HabitEnhancer, col(HabitEnhancer.enhancer_id) == Enhancer.id)
    .where(HabitEnhancer.habit_id == bindparam("habit_id"))
    .order_by(col(Enhancer.id))
)
LATEST_FLIP = select(Flip).where(Flip.habit_id == bindparam("habit_id")).order_by(col(Flip.id).desc()).limit(1)
# By habit, so the database reads the small index of open flips (uq_flip_open_per_habit), not every flip
# of the member's history.
OPEN_FLIPS = select(Flip).where(
    col(Flip.habit_id).in_(select(Habit.id).where(Habit.member_id == bindparam("member_id"))),
    col(Flip.closed_at).is_(None),
)
VERDICTS = (
    select(FlipEnhancer)
    .where(col(FlipEnhancer.flip_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(FlipEnhancer.id))
)
REFLECTIONS = select(Reflection).where(col(Reflection.flip_id).in_(bindparam("ids", expanding=True)))
HABITS_BY_ID = select(Habit).where(col(Habit.id).in_(bindparam("ids", expanding=True)))
# A flip's rows are written as plain inserts: the ORM's unit of work costs several times the statement.
FLIP_TABLE = SQLModel.metadata.tables["flip"]
INSERT_FLIP = insert(FLIP_TABLE)
VERDICT_TABLE = SQLModel.metadata.tables["flipenhancer"]
INSERT_VERDICT = insert(VERDICT_TABLE).returning(VERDICT_TABLE.c.id, sort_by_parameter_order=True)
REFLECTION_TABLE = SQLModel.metadata.tables["reflection"]
INSERT_REFLECTION = insert(REFLECTION_TABLE)
UPDATE_REFLECTION = (
    update(REFLECTION_TABLE)
    .where(REFLECTION_TABLE.c.flip_id == bindparam("key"))
    .values({name: bindparam(name) for name in ReflectionIn.model_fields})
)
CLOSE_FLIP = (
    update(FLIP_TABLE)
    .where(FLIP_TABLE.c.id == bindparam("key"))
    .values(closed_at=bindparam("closed_at"), skipped=False)
)


# Habits and enhancers


def enhancers_of_member(db: Session, member: Member) -> list[Enhancer]:
    return list(db.exec(select(Enhancer).where(Enhancer.member_id == member.id).order_by(col(Enhancer.name))))


def habits_of_member(db: Session, member: Member) -> list[Habit]:
    return list(db.exec(HABITS_OF_MEMBER, params={"member_id": member.id}))


def enhancer_ids_of(db: Session, habit: Habit) -> list[int]:
    rows = db.exec(select(HabitEnhancer.enhancer_id).where(HabitEnhancer.habit_id == habit.id))
    return sorted(rows)


def enhancers_of_habit(db: Session, habit: Habit) -> list[Enhancer]:
    return list(db.exec(ENHANCERS_OF_HABIT, params={"habit_id": habit.id}))


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
    """Apply the given fields (all of a HabitIn, the sent ones of a HabitPatch) and commit."""
    fields = data.model_dump(exclude_unset=isinstance(data, HabitPatch), exclude={"enhancer_ids"})
    for name, value in fields.items():
        if value is not None or name == "max_stack":
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


# Flips


def latest_flip(db: Session, habit: Habit) -> Flip | None:
    """The habit's newest flip: the open one if there is one, since a flip is only drawn when none is open."""
    return db.exec(LATEST_FLIP, params={"habit_id": habit.id}).first()


def flip_by_key(db: Session, member: Member, key: str) -> Flip | None:
    return db.exec(select(Flip).where(Flip.member_id == member.id, Flip.idempotency_key == key)).first()


def record_flip(db: Session, habit: Habit, member: Member, rng: random.Random, key: str | None = None) -> FlipView:
    """Draw the verdict and store it at once."""
    enhancers = enhancers_of_habit(db, habit)
    candidates = [coin.Candidate(e.id or 0, e.name, e.spike) for e in enhancers]
    verdict = coin.draw(coin.Policy(habit.mode, habit.chance, habit.max_stack), candidates, rng)
    assert habit.id is not None and member.id is not None
    secret = coin.nonce(rng)
    text = coin.commitment_text(verdict.coin, ((c.name, ok) for c, ok in verdict.allowed), secret)
    flip = Flip(
        habit_id=habit.id,
        member_id=member.id,
        coin=verdict.coin,
        prompt=rng.choice(PROMPTS),
        idempotency_key=key,
        nonce=secret,
        commitment=coin.commitment(text),
    )
    inserted = db.exec(INSERT_FLIP, params=flip.model_dump(exclude={"id"})).inserted_primary_key
    assert inserted is not None
    flip.id = inserted[0]
    rows = [
        FlipEnhancer(flip_id=flip.id, enhancer_id=c.id, name=c.name, spike=c.spike, allowed=allowed)
        for c, allowed in verdict.allowed
    ]
    if rows:
        ids = db.exec(INSERT_VERDICT, params=[r.model_dump(exclude={"id"}) for r in rows]).scalars()
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id
    db.commit()
    return FlipView(flip, habit, rows, None)


def flip_habit(
    db: Session, habit: Habit, member: Member, rng: random.Random, key: str | None = None
) -> tuple[FlipView, bool]:
    """The flip for this tap: the one already made for this key, the habit's open one, or a new draw.

    Returns the flip and whether it is new. The verdict is final: nothing here ever draws twice.
    """
    last = latest_flip(db, habit)
    existing = (flip_by_key(db, member, key) if key else None) or (last if last and last.closed_at is None else None)
    if existing is not None:
        return view_of(db, existing), False
    until = skip_cooldown_end(last) if last else None
    if until and utcnow() < until:
        raise RecentlySkipped(until)
    try:
        return record_flip(db, habit, member, rng, key), True
    except IntegrityError:
        # Another request drew first (PostgreSQL lets both get this far): show its verdict.
        db.rollback()
        existing = (flip_by_key(db, member, key) if key else None) or latest_flip(db, habit)
        if existing is None:
            raise
        return view_of(db, existing), False


def save_reflection(db: Session, flip: Flip, data: ReflectionIn) -> Reflection:
    """Save (or replace) the flip's reflection and close the flip: plain statements, one commit."""
    assert flip.id is not None
    fields = data.model_dump()
    reflection = Reflection(flip_id=flip.id, **fields)
    if db.exec(UPDATE_REFLECTION, params={"key": flip.id, **fields}).rowcount == 0:
        db.exec(INSERT_REFLECTION, params=reflection.model_dump())
    closed_at = flip.closed_at or utcnow()
    db.exec(CLOSE_FLIP, params={"key": flip.id, "closed_at": closed_at})
    # The row is written: the loaded flip takes the same values without becoming a pending change.
    set_committed_value(flip, "closed_at", closed_at)
    set_committed_value(flip, "skipped", False)
    db.commit()
    return reflection


def skip_cooldown_end(flip: Flip) -> datetime | None:
    return flip.closed_at + SKIP_COOLDOWN if flip.skipped and flip.closed_at else None


def skip_flip(db: Session, flip: Flip) -> None:
    if flip.closed_at is None:
        flip.closed_at = utcnow()
        flip.skipped = True
        db.add(flip)
        db.commit()


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
    return views_of(db, [flip])[0]


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


def open_flips_by_habit(db: Session, member: Member) -> dict[int, Flip]:
    return {f.habit_id: f for f in db.exec(OPEN_FLIPS, params={"member_id": member.id})}
