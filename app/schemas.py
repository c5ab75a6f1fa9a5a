"""What people may send: one set of checked input models, shared by the forms and the JSON API."""

import functools
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.coin import CHANCE_MAX, CHANCE_MIN
from app.models import NAME_MAX, NOTE_MAX, TEXT_MAX, TIMEZONE_MAX, Followed, Kind, Mode
from app.security import password_problem


def drop_nul(value: str) -> str:
    """NUL characters mean nothing in a name or a note, and PostgreSQL cannot store them or compare with them."""
    return value.replace("\x00", "")


# A name asked for in a URL (a path or query parameter), not in a body.
NameParam = Annotated[str, AfterValidator(drop_nul)]

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Emoji = Annotated[str, Field(min_length=1, max_length=16)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
# A session of N hours instead of the local day; never more than a day, so a day never goes unflipped.
EveryHours = Annotated[int, Field(ge=1, le=24)]


@functools.cache
def all_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@functools.cache
def time_zones() -> tuple[str, ...]:
    """The zones Settings offers: UTC and the places of the IANA regions ("Europe/Berlin"; not the old
    "US/Eastern" or "Etc/GMT+5"). A browser may name any zone the IANA database knows: all are accepted."""
    places = sorted(z for z in all_time_zones() if z.split("/")[0] in REGIONS)
    return ("UTC", *places)


def known_time_zone(value: str) -> str:
    if value not in all_time_zones():
        raise ValueError("Please pick a time zone from the list, for example Europe/Berlin.")
    return value


TimeZoneName = Annotated[str, Field(max_length=TIMEZONE_MAX), AfterValidator(known_time_zone)]


class Input(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def without_nul(cls, value: object) -> object:
        return drop_nul(value) if isinstance(value, str) else value


class EnhancerIn(Input):
    name: Name
    kind: Kind = Kind.other
    spike: int = Field(default=1, ge=1, le=3)


class EnhancerPatch(Input):
    name: Name | None = None
    kind: Kind | None = None
    spike: int | None = Field(default=None, ge=1, le=3)


class HabitIn(Input):
    name: Name
    emoji: Emoji = "🏃"
    why: Text = ""
    minimum: Text = ""
    mode: Mode = Mode.all_or_nothing
    chance: float = Field(default=0.5, ge=CHANCE_MIN, le=CHANCE_MAX)
    max_stack: int | None = Field(default=None, ge=1, le=20)
    every_hours: EveryHours | None = None
    enhancer_ids: list[int] = Field(default_factory=list, max_length=50)


class HabitForm(HabitIn):
    """The habit form asks for the chance in percent."""

    chance: float = Field(default=50, ge=CHANCE_MIN * 100, le=CHANCE_MAX * 100)

    def to_input(self) -> HabitIn:
        return HabitIn.model_validate(self.model_dump() | {"chance": round(self.chance / 100, 2)})


class HabitPatch(Input):
    name: Name | None = None
    emoji: Emoji | None = None
    why: Text | None = None
    minimum: Text | None = None
    mode: Mode | None = None
    chance: float | None = Field(default=None, ge=CHANCE_MIN, le=CHANCE_MAX)
    max_stack: int | None = Field(default=None, ge=1, le=20)
    every_hours: EveryHours | None = None
    enhancer_ids: list[int] | None = Field(default=None, max_length=50)


class ReflectionIn(Input):
    effort: int = Field(ge=1, le=10)
    enjoyment: int = Field(ge=1, le=10)
    followed: Followed
    note: str = Field(default="", max_length=NOTE_MAX)


class MemberIn(Input):
    name: Name
    emoji: Emoji = "🙂"


class MemberEdit(MemberIn):
    pin: str = ""
    remove_pin: bool = False

    @field_validator("pin")
    @classmethod
    def four_digits(cls, value: str) -> str:
        if value and not (len(value) == 4 and value.isascii() and value.isdigit()):
            raise ValueError("A PIN is exactly 4 digits.")
        return value


def acceptable_password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


NewPassword = Annotated[str, Field(max_length=200), AfterValidator(acceptable_password)]


class RepeatedPassword(Input):
    """A new password, typed twice."""

    password: NewPassword
    password_again: str = Field(max_length=200)

    @field_validator("password_again")
    @classmethod
    def same_password(cls, value: str, info: ValidationInfo) -> str:
        if "password" in info.data and value != info.data["password"]:
            raise ValueError("The two passwords are not the same.")
        return value


class HouseholdIn(RepeatedPassword):
    name: Name
    member: Name


class PasswordChange(RepeatedPassword):
    current: str = Field(min_length=1, max_length=200)


class TimeZoneIn(Input):
    timezone: TimeZoneName


class LoginIn(Input):
    name: Name
    password: str = Field(min_length=1, max_length=200)


class PleasureIn(Input):
    name: Name
    enjoyment: int = Field(ge=1, le=10)
    craving: int = Field(ge=1, le=10)
