"""Every table of Coinflip, as SQLModel classes."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Every length limit of a column, declared once: app/schemas.py builds the input and import types from them.
NAME_MAX = 60
EMOJI_MAX = 16
TEXT_MAX = 300
NOTE_MAX = 2000
TIMEZONE_MAX = 64
IDEMPOTENCY_KEY_MAX = 200
SEAL_MAX = 64  # a flip's nonce and its commitment (hex SHA-256)


def utcnow() -> datetime:
    return datetime.now(UTC)


def owner(table: str, *, nullable: bool = False, on_delete: str = "CASCADE", index: bool = True) -> Column[int]:
    return Column(Integer, ForeignKey(f"{table}.id", ondelete=on_delete), nullable=nullable, index=index)


class Kind(StrEnum):
    drink = "drink"
    media = "media"
    social = "social"
    substance = "substance"
    other = "other"


class Mode(StrEnum):
    all_or_nothing = "all_or_nothing"
    each = "each"


class Coin(StrEnum):
    heads = "heads"
    tails = "tails"
    mixed = "mixed"


class Followed(StrEnum):
    yes = "yes"
    partly = "partly"
    no = "no"


class Household(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX)
    login: str = Field(max_length=NAME_MAX, unique=True)
    password_hash: str
    # IANA name; every time shown to the household, and the day a session lasts, are in it.
    timezone: str = Field(default="UTC", max_length=TIMEZONE_MAX)
    created_at: datetime = Field(default_factory=utcnow)


class Member(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("household_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(sa_column=owner("household"))
    name: str = Field(max_length=NAME_MAX)
    emoji: str = Field(default="🙂", max_length=EMOJI_MAX)
    pin_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class LoginSession(SQLModel, table=True):
    """A browser's login: the cookie holds a random token, this row only its hash."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(sa_column=owner("household"))
    member_id: int | None = Field(sa_column=owner("member", nullable=True, on_delete="SET NULL"))
    token_hash: str = Field(unique=True, max_length=64)
    device_name: str = Field(max_length=NAME_MAX)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


class Throttle(SQLModel, table=True):
    """Tries of a password or PIN counted per key: an account (a household's login, a member) from one address
    or one known device, and the account from anywhere. The key is a hash of that description."""

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=utcnow, index=True)


class KnownDevice(SQLModel, table=True):
    """A browser that has given the right password or PIN for an account before: someone else's guesses at
    that account never lock it out. The key is a hash of the account and the browser's device cookie."""

    key: str = Field(primary_key=True, max_length=64)
    last_success_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))
    name: str = Field(default="API token", max_length=NAME_MAX)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # To the minutes, like a device's last_seen_at: not every API call needs to be a write.
    last_used_at: datetime | None = None


class Enhancer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))
    name: str = Field(max_length=NAME_MAX)
    kind: Kind = Kind.other
    spike: int = 1


class Habit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))
    name: str = Field(max_length=NAME_MAX)
    emoji: str = Field(default="🏃", max_length=EMOJI_MAX)
    why: str = Field(default="", max_length=TEXT_MAX)
    minimum: str = Field(default="", max_length=TEXT_MAX)
    mode: Mode = Mode.all_or_nothing
    chance: float = 0.5
    max_stack: int | None = None
    # None: one session per local calendar day; N: the next flip is possible N hours after the last one.
    every_hours: int | None = None
    # Archived habits are off Today, their history kept; only they can be deleted for good.
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class HabitEnhancer(SQLModel, table=True):
    habit_id: int = Field(sa_column=Column(Integer, ForeignKey("habit.id", ondelete="CASCADE"), primary_key=True))
    enhancer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("enhancer.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class Flip(SQLModel, table=True):
    """One session of a habit: its verdict, drawn once. Open (waiting for its reflection) until it is reflected
    on, skipped, or its session is over; the session itself always lasts until `next_flip_at`."""

    __table_args__ = (
        # The database itself refuses a second open flip of a habit: the verdict cannot be re-rolled.
        Index(
            "uq_flip_open_per_habit",
            "habit_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        UniqueConstraint("member_id", "idempotency_key"),
        Index("ix_flip_member_id_id", "member_id", "id"),
        Index("ix_flip_habit_id_id", "habit_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # No index of their own: the (owner, id) indexes above start with them (one less B-tree per flip).
    habit_id: int = Field(sa_column=owner("habit", index=False))
    member_id: int = Field(sa_column=owner("member", index=False))
    flipped_at: datetime = Field(default_factory=utcnow)
    # Fixed when the coin falls, so no later change of the habit or the time zone can shorten a session.
    next_flip_at: datetime
    coin: Coin
    # The policy the coin was drawn under, for an honest audit after the habit's policy changes, and the kind
    # of session it opened (None: a day, whose end a change of time zone may only move later).
    mode: Mode
    chance: float
    every_hours: int | None = None
    prompt: str = Field(max_length=TEXT_MAX)
    idempotency_key: str | None = Field(default=None, max_length=IDEMPOTENCY_KEY_MAX)
    closed_at: datetime | None = None
    skipped: bool = False
    # Fairness anyone can check: sha256 of the verdict and a secret nonce, both shown with the verdict.
    nonce: str | None = Field(default=None, max_length=SEAL_MAX)
    commitment: str | None = Field(default=None, max_length=SEAL_MAX)


class FlipEnhancer(SQLModel, table=True):
    """One enhancer's part of a verdict; name and spike are kept so history survives the enhancer's deletion."""

    id: int | None = Field(default=None, primary_key=True)
    flip_id: int = Field(sa_column=owner("flip"))
    enhancer_id: int | None = Field(sa_column=owner("enhancer", nullable=True, on_delete="SET NULL"))
    name: str = Field(max_length=NAME_MAX)
    spike: int
    allowed: bool
    # The enhancer's coin said yes, but max_stack left it home (so `allowed` is False).
    capped: bool = False


class Reflection(SQLModel, table=True):
    flip_id: int = Field(sa_column=Column(Integer, ForeignKey("flip.id", ondelete="CASCADE"), primary_key=True))
    effort: int
    enjoyment: int
    followed: Followed
    note: str = Field(default="", max_length=NOTE_MAX)
    # Grows with every change; an edit names the version it saw, so nothing is overwritten unseen.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)


class PleasureCheck(SQLModel, table=True):
    """A one-tap log of an everyday pleasure: how much it was enjoyed, how much it was craved."""

    __table_args__ = (Index("ix_pleasurecheck_member_name_time", "member_id", "name", "logged_at"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member", index=False))  # the index above starts with it
    name: str = Field(max_length=NAME_MAX)
    enjoyment: int
    craving: int
    logged_at: datetime = Field(default_factory=utcnow)
