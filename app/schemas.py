"""What people may send: one set of checked input models, shared by the forms, the JSON API and the CLI; each
entity's input derives from its fields in app/models.py, as the export file does (app/archive.py)."""

import functools
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, ValidationInfo, field_validator
from sqlmodel import SQLModel

from app.i18n import gettext
from app.models import (
    CHANCE_MAX,
    CHANCE_MIN,
    NAME_MAX,
    URL_MAX,
    Chance,
    ClockTime,
    Coin,
    DeviceBase,
    Emoji,
    EnhancerBase,
    EnhancerIds,
    EveryHours,
    HabitBase,
    HouseholdName,
    Kind,
    MaxStack,
    MemberBase,
    Mode,
    Name,
    PleasureCheckBase,
    ReflectionBase,
    Spike,
    Text,
    TimeZoneName,
    Weekday,
    all_time_zones,
    login_name,
)
from app.notify import apprise_problem, push_endpoint_problem
from app.security import password_problem


def drop_nul(value: str) -> str:
    """NUL characters mean nothing in a name or a note, and PostgreSQL cannot store them or compare with them."""
    return value.replace("\x00", "")


# A name asked for in a URL (a path or query parameter), not in a body.
NameParam = Annotated[str, AfterValidator(drop_nul)]


def login_may_exist(name: str) -> str:
    # No household has a login this long, so the answer is the one a wrong password gets.
    if len(login_name(name)) > NAME_MAX:
        raise ValueError(gettext("That household name and password don't match."))
    return name


REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@functools.cache
def time_zones() -> tuple[str, ...]:
    """The zones Settings offers: UTC and the places of the IANA regions ("Europe/Berlin"; not the old
    "US/Eastern" or "Etc/GMT+5"). A browser may name any zone the IANA database knows: all are accepted."""
    places = sorted(z for z in all_time_zones() if z.split("/")[0] in REGIONS)
    return ("UTC", *places)


class Checked(SQLModel):
    """Text as the app keeps it: without surrounding spaces or NUL characters, a line break one character (a
    browser sends a textarea's as CR LF; the page counting what is typed sees one). (A SQLModel, so that an input
    can derive from an entity's fields too.)"""

    model_config = {"str_strip_whitespace": True}

    @field_validator("*", mode="before")
    @classmethod
    def plain_text(cls, value: object) -> object:
        return drop_nul(value).replace("\r\n", "\n") if isinstance(value, str) else value


class Input(Checked):
    model_config = {"extra": "forbid"}


class EnhancerIn(EnhancerBase, Input):
    """A new enhancer, from the form or the API."""


class EnhancerPatch(Input):
    """Only the fields sent are changed."""

    # EnhancerIn's fields, each optional (tests/test_limits.py checks that they stay the same).
    name: Name | None = None
    kind: Kind | None = None
    spike: Spike | None = None


class HabitIn(HabitBase, Input):
    """A new or edited habit, from the form or the API, with the enhancers it links."""

    enhancer_ids: EnhancerIds = Field(default_factory=list)


class HabitForm(HabitIn):
    """The habit form asks for the chance in percent."""

    chance: float = Field(default=50, ge=CHANCE_MIN * 100, le=CHANCE_MAX * 100)

    def to_input(self) -> HabitIn:
        return HabitIn.model_validate(self.model_dump() | {"chance": round(self.chance / 100, 2)})


class HabitPatch(Input):
    """Only the fields sent are changed."""

    # HabitIn's fields, each optional (tests/test_limits.py checks that they stay the same).
    name: Name | None = None
    emoji: Emoji | None = None
    why: Text | None = None
    minimum: Text | None = None
    mode: Mode | None = None
    chance: Chance | None = None
    max_stack: MaxStack | None = None
    every_hours: EveryHours | None = None
    enhancer_ids: EnhancerIds | None = None


class ReflectionIn(ReflectionBase, Input):
    """A reflection on a flip, from the form or the API."""


class MemberIn(MemberBase, Input):
    """A new member, from the form."""


class MemberEdit(MemberIn):
    pin: str = ""
    remove_pin: bool = False
    # Changing or removing a PIN takes the current one.
    current_pin: str = Field(default="", max_length=200)

    @field_validator("pin")
    @classmethod
    def four_digits(cls, value: str) -> str:
        if value and not (len(value) == 4 and value.isascii() and value.isdigit()):
            raise ValueError("A PIN is exactly 4 digits.")
        return value


def refusing(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A validator that refuses a value with the sentence `problem_of` gives for it, if it gives one."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


NewPassword = Annotated[str, Field(max_length=200), refusing(password_problem)]


class RepeatedPassword(Input):
    """A new password, typed twice."""

    password: NewPassword
    password_again: str = Field(max_length=200)

    @field_validator("password_again")
    @classmethod
    def same_password(cls, value: str, info: ValidationInfo) -> str:
        if "password" in info.data and value != info.data["password"]:
            raise ValueError(gettext("The two passwords are not the same."))
        return value


class HouseholdIn(RepeatedPassword):
    name: HouseholdName
    member: Name


class PasswordChange(RepeatedPassword):
    current: str = Field(min_length=1, max_length=200)


class TimeZoneIn(Input):
    timezone: TimeZoneName


class DeviceIn(DeviceBase, Input):
    """A device's new name, from Settings."""


class TokenIn(Input):
    name: str = Field(default="", max_length=NAME_MAX)


class LoginIn(Input):
    name: Annotated[Name, AfterValidator(login_may_exist)]
    password: str = Field(min_length=1, max_length=200)


class PleasureIn(PleasureCheckBase, Input):
    """A pleasure check, from the form or the API."""


class RevealedEnhancer(SQLModel):
    name: Name
    allowed: bool


class RevealIn(SQLModel):
    """A sealed flip that a phone revealed with no signal, sent once it is back online: the seal's commitment
    (shown on the card before the tap), the verdict the phone showed, and when. Taken only for the habit's
    current seal, and only as the verdict that seal holds."""

    commitment: Annotated[str, Field(pattern="^[0-9a-f]{64}$", description="The seal's SHA-256, as on the card")]
    coin: Coin = Field(description="The coin the phone revealed")
    enhancers: Annotated[list[RevealedEnhancer], Field(max_length=50, description="The verdict the phone revealed")]
    revealed_at: AwareDatetime = Field(
        description="When it was revealed, by the phone's clock: kept between the seal's time (or the end of the "
        "previous session) and now, so a clock running fast or slow never costs the flip"
    )


def some_days(days: list[Weekday]) -> list[Weekday]:
    if not days:
        raise ValueError(gettext("Pick at least one day, or turn the reminder off."))
    return sorted(set(days), key=list(Weekday).index)


class ReminderIn(Input):
    """A habit's reminder: the weekdays, and the local time (the household's time zone)."""

    days: Annotated[list[Weekday], Field(max_length=7), AfterValidator(some_days)]
    time: ClockTime


class ReminderForm(ReminderIn):
    """The form sends one day as a single value, several as a list; none at all as nothing."""

    days: Annotated[
        list[Weekday], Field(default_factory=list, max_length=7, validate_default=True), AfterValidator(some_days)
    ]

    @field_validator("days", mode="before")
    @classmethod
    def listed(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class PushKeys(Input):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscriptionIn(Checked):
    """What a browser's PushSubscription.toJSON() gives (its expirationTime, if any, is not kept)."""

    model_config = {"extra": "ignore"}

    endpoint: Annotated[str, Field(min_length=1, max_length=URL_MAX), refusing(push_endpoint_problem)]
    keys: PushKeys


class AppriseIn(Input):
    url: Annotated[str, Field(min_length=1, max_length=URL_MAX), refusing(apprise_problem)]
