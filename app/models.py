"""Every table of Coinflip, as SQLModel classes, and each entity's fields with their limits, declared once.

An entity's fields live in its `…Base` class. The table adds its keys; the input of the forms, the API and the
CLI (app/schemas.py), the API's answers (app/routes/api.py) and the export file (app/archive.py) derive from the
same class, so none of them can take, refuse or describe a field differently from the others.
"""

import functools
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator
from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.i18n import gettext, ngettext

NAME_MAX = 60
EMOJI_MAX = 16
TEXT_MAX = 300
NOTE_MAX = 2000
TIMEZONE_MAX = 64
IDEMPOTENCY_KEY_MAX = 200
SEAL_MAX = 64  # a flip's nonce and its commitment (hex SHA-256)
# The chance that the coin allows an enhancer: never 0 or 1 (app/coin.py says why).
CHANCE_MIN = 0.1
CHANCE_MAX = 0.9


def one_emoji(value: str) -> str:
    """One emoji as a phone's keyboard types it: 🏃, and sequences of several code points like 🏋️‍♀️ or 🇩🇪."""
    import emoji  # here, not at the top: ~30 ms of loading its table, paid by the first emoji checked instead

    if not emoji.is_emoji(value):
        raise ValueError(gettext("Please use one emoji, like 🏃 or 🏋️‍♀️ (your phone's emoji keyboard has them)."))
    return value


# Each field's type and limits: the columns, the forms, the API (both ways) and the export file all take these.
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Emoji = Annotated[
    str,
    Field(min_length=1, max_length=EMOJI_MAX, schema_extra={"examples": ["🏃", "🏋️‍♀️", "🇩🇪"]}),
    AfterValidator(one_emoji),
]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Note = Annotated[str, Field(max_length=NOTE_MAX)]
Spike = Annotated[int, Field(ge=1, le=3)]
Score = Annotated[int, Field(ge=1, le=10)]  # effort, enjoyment, craving
Chance = Annotated[float, Field(ge=CHANCE_MIN, le=CHANCE_MAX)]
MaxStack = Annotated[int, Field(ge=1, le=20)]
EnhancerIds = Annotated[list[int], Field(max_length=50)]
# A session of N hours instead of the local day; never more than a day, so a day never goes unflipped.
EveryHours = Annotated[int, Field(ge=1, le=24)]
# Optional inside the type: a nullable column takes its length from the type's own limit, not from `X | None`.
IdempotencyKey = Annotated[str | None, Field(max_length=IDEMPOTENCY_KEY_MAX)]
SealHex = Annotated[str | None, Field(max_length=SEAL_MAX)]  # None: a flip from before seals existed
Version = Annotated[int, Field(ge=1)]


def login_name(name: str) -> str:
    """The form of a household's name that logs in: spaces collapsed, case folded ("Ana  Rivera" is "ana rivera")."""
    return " ".join(name.split()).casefold()


def login_fits(name: str) -> str:
    # Case folding can lengthen a name ("ﬃ" becomes "ffi"): the login column must hold the longer form.
    if len(login_name(name)) > NAME_MAX:
        raise ValueError(
            ngettext(
                "Please use a shorter name: written for login it is longer than %(num)s character.",
                "Please use a shorter name: written for login it is longer than %(num)s characters.",
                NAME_MAX,
            )
        )
    return name


HouseholdName = Annotated[Name, AfterValidator(login_fits)]


@functools.cache
def all_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_time_zone(value: str) -> str:
    if value not in all_time_zones():
        raise ValueError(gettext("Please pick a time zone from the list, for example Europe/Berlin."))
    return value


TimeZoneName = Annotated[str, Field(max_length=TIMEZONE_MAX), AfterValidator(known_time_zone)]


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


class Colour(StrEnum):
    """A member's colour: a small fixed palette, each readable in light and dark (static/app.css)."""

    blue = "blue"
    teal = "teal"
    green = "green"
    amber = "amber"
    orange = "orange"
    rose = "rose"
    violet = "violet"
    slate = "slate"


class Followed(StrEnum):
    yes = "yes"
    partly = "partly"
    no = "no"


class Fields(SQLModel):
    """The root of every entity's fields. An answer always carries each of them, defaults too: its schema says so."""

    model_config = {"json_schema_serialization_defaults_required": True}


class HouseholdBase(Fields):
    name: HouseholdName
    # IANA name; every time shown to the household, and the day a session lasts, are in it.
    timezone: TimeZoneName = "UTC"


class Household(HouseholdBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=NAME_MAX, unique=True)
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)


class MemberBase(Fields):
    name: Name
    emoji: Emoji = "🙂"
    colour: Colour = Colour.blue


class Member(MemberBase, table=True):
    __table_args__ = (UniqueConstraint("household_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(sa_column=owner("household"))
    pin_hash: str | None = None
    # The language the member picked ("de"); None follows each browser's Accept-Language (app/i18n.py).
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)


class DeviceBase(Fields):
    # Made from the browser's user agent ("Chrome on Android"); the household may rename it ("Ben's phone").
    device_name: Name


class LoginSession(DeviceBase, table=True):
    """A browser's login: the cookie holds a random token, this row only its hash."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(sa_column=owner("household"))
    member_id: int | None = Field(sa_column=owner("member", nullable=True, on_delete="SET NULL"))
    token_hash: str = Field(unique=True, max_length=64)
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


class EnhancerBase(Fields):
    name: Name
    kind: Kind = Kind.other
    spike: Spike = 1


class Enhancer(EnhancerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))


class HabitBase(Fields):
    name: Name
    emoji: Emoji = "🏃"
    why: Text = ""
    minimum: Text = ""
    mode: Mode = Mode.all_or_nothing
    chance: Chance = 0.5
    max_stack: MaxStack | None = None
    # None: one session per local calendar day; N: the next flip is possible N hours after the last one.
    every_hours: EveryHours | None = None


class Habit(HabitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))
    # Archived habits are off Today, their history kept; only they can be deleted for good.
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class HabitEnhancer(SQLModel, table=True):
    habit_id: int = Field(sa_column=Column(Integer, ForeignKey("habit.id", ondelete="CASCADE"), primary_key=True))
    enhancer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("enhancer.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class FlipShown(Fields):
    """The fields of a flip that the API shows."""

    flipped_at: datetime
    # Fixed when the coin falls, so no later change of the habit or the time zone can shorten a session.
    next_flip_at: datetime
    coin: Coin
    prompt: Text
    skipped: bool = False
    # Fairness anyone can check: sha256 of the verdict and a secret nonce, both shown with the verdict.
    nonce: SealHex = None
    commitment: SealHex = None
    sealed_at: datetime | None = Field(
        default=None,
        description="When the verdict was drawn and sealed: before the tap for a sealed flip (its commitment was "
        "shown on the card then), at the tap for one drawn then; None for a flip from before seals existed.",
    )


class FlipBase(FlipShown):
    # The policy the coin was drawn under, for an honest audit after the habit's policy changes, and the kind
    # of session it opened (None: a day, whose end a change of time zone may only move later).
    mode: Mode
    chance: Chance
    every_hours: EveryHours | None = None
    idempotency_key: IdempotencyKey = None
    closed_at: datetime | None = None


class Flip(FlipBase, table=True):
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


class FlipEnhancerBase(Fields):
    """One enhancer's part of a verdict; name and spike are kept so history survives the enhancer's deletion."""

    name: Name
    spike: Spike
    allowed: bool
    # The enhancer's coin said yes, but max_stack left it home (so `allowed` is False).
    capped: bool = False


class FlipEnhancer(FlipEnhancerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    flip_id: int = Field(sa_column=owner("flip"))
    enhancer_id: int | None = Field(sa_column=owner("enhancer", nullable=True, on_delete="SET NULL"))


class Seal(SQLModel, table=True):
    """A habit's next verdict, drawn in advance: its commitment is on the card before the tap, and the tap (online,
    or offline on the phone) reveals it as the next session's flip. One per habit with enhancers."""

    id: int | None = Field(default=None, primary_key=True)
    habit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("habit.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    coin: Coin
    prompt: Text  # drawn with the verdict, so a reflection written offline answers the prompt the flip keeps
    nonce: str = Field(max_length=SEAL_MAX)
    commitment: str = Field(max_length=SEAL_MAX)
    sealed_at: datetime


class SealEnhancer(FlipEnhancerBase, table=True):
    """One enhancer's part of a sealed verdict, as it will be copied into the flip."""

    id: int | None = Field(default=None, primary_key=True)
    seal_id: int = Field(sa_column=owner("seal"))
    enhancer_id: int | None = Field(sa_column=owner("enhancer", nullable=True, on_delete="SET NULL"))


class ReflectionBase(Fields):
    effort: Score
    enjoyment: Score
    followed: Followed
    note: Note = ""


class Reflection(ReflectionBase, table=True):
    flip_id: int = Field(sa_column=Column(Integer, ForeignKey("flip.id", ondelete="CASCADE"), primary_key=True))
    # Grows with every change; an edit names the version it saw, so nothing is overwritten unseen.
    version: Version = 1
    created_at: datetime = Field(default_factory=utcnow)


class PleasureCheckBase(Fields):
    """A one-tap log of an everyday pleasure: how much it was enjoyed, how much it was craved."""

    name: Name
    enjoyment: Score
    craving: Score


class PleasureCheck(PleasureCheckBase, table=True):
    __table_args__ = (Index("ix_pleasurecheck_member_name_time", "member_id", "name", "logged_at"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member", index=False))  # the index above starts with it
    logged_at: datetime = Field(default_factory=utcnow)


URL_MAX = 1000  # a push service's endpoint, an Apprise URL
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Monday first, as date.weekday() counts


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


def clock_time(value: str) -> str:
    """A time of day as a phone's time picker sends it: "18:00" (seconds, if a browser adds them, are dropped)."""
    hours, _, minutes = value[:5].partition(":")
    shaped = len(value) in (5, 8) and hours.isdigit() and minutes.isdigit() and len(hours) == len(minutes) == 2
    if not shaped or int(hours) > 23 or int(minutes) > 59:
        raise ValueError(gettext("Please give a time like 18:00."))
    return value[:5]


# A local time of day, "18:00": the reminder's, in the household's time zone.
ClockTime = Annotated[str, Field(max_length=8, schema_extra={"examples": ["18:00"]}), AfterValidator(clock_time)]


class Reminder(SQLModel, table=True):
    """A member's cue for one of their habits: on these weekdays, at this local time. No row: off."""

    id: int | None = Field(default=None, primary_key=True)
    habit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("habit.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    member_id: int = Field(sa_column=owner("member"))
    days: int  # a bit per weekday, Monday's the lowest (app.reminders.days_of)
    at: str = Field(max_length=5)
    # A reminder is due only from this moment on: one set at 18:05 for 18:00 waits for the next day.
    updated_at: datetime = Field(default_factory=utcnow)


class ReminderSent(SQLModel, table=True):
    """One due moment of a reminder, claimed by the dispatcher that sends it: the primary key lets one claim in,
    whichever worker or replica asks first. A claim not marked sent after its lease may be taken over."""

    reminder_id: int = Field(sa_column=Column(Integer, ForeignKey("reminder.id", ondelete="CASCADE"), primary_key=True))
    due_at: datetime = Field(primary_key=True)
    claimed_at: datetime
    sent_at: datetime | None = None


class PushSubscription(SQLModel, table=True):
    """A browser that takes Web Push for a member: where its push service listens, and its keys. A shared phone
    may hold one for each of its members."""

    __table_args__ = (UniqueConstraint("member_id", "endpoint"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member", index=False))  # the unique constraint starts with it
    endpoint: str = Field(max_length=URL_MAX)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    # The language the browser asked for when it subscribed: its notifications' words if the member has no own.
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)


class AppriseTarget(SQLModel, table=True):
    """An Apprise URL a member's reminders go to (ntfy, Gotify, Telegram, e-mail, …). It may hold a secret: never
    logged, never exported."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=owner("member"))
    url: str = Field(max_length=URL_MAX)
    # The language the browser asked for when the URL was added: its messages' words if the member has no own.
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
