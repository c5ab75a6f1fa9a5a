"""What people may send: one set of checked input models, shared by the forms, the JSON API and the import."""

import functools
from collections.abc import Callable
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.coin import CHANCE_MAX, CHANCE_MIN
from app.models import (
    EMOJI_MAX,
    IDEMPOTENCY_KEY_MAX,
    NAME_MAX,
    NOTE_MAX,
    SEAL_MAX,
    TEXT_MAX,
    TIMEZONE_MAX,
    Followed,
    Kind,
    Mode,
)
from app.security import password_problem


def drop_nul(value: str) -> str:
    """NUL characters mean nothing in a name or a note, and PostgreSQL cannot store them or compare with them."""
    return value.replace("\x00", "")


# A name asked for in a URL (a path or query parameter), not in a body.
NameParam = Annotated[str, AfterValidator(drop_nul)]

# Each field's limits, once: the forms, the API and the import file all take these types.
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Emoji = Annotated[str, Field(min_length=1, max_length=EMOJI_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Note = Annotated[str, Field(max_length=NOTE_MAX)]
Spike = Annotated[int, Field(ge=1, le=3)]
Score = Annotated[int, Field(ge=1, le=10)]  # effort, enjoyment, craving
Chance = Annotated[float, Field(ge=CHANCE_MIN, le=CHANCE_MAX)]
MaxStack = Annotated[int, Field(ge=1, le=20)]
EnhancerIds = Annotated[list[int], Field(max_length=50)]
# A session of N hours instead of the local day; never more than a day, so a day never goes unflipped.
EveryHours = Annotated[int, Field(ge=1, le=24)]
IdempotencyKey = Annotated[str, Field(max_length=IDEMPOTENCY_KEY_MAX)]
Seal = Annotated[str, Field(max_length=SEAL_MAX)]


def login_name(name: str) -> str:
    """The form of a household's name that logs in: spaces collapsed, case folded ("Ana  Rivera" is "ana rivera")."""
    return " ".join(name.split()).casefold()


def login_fits(name: str) -> str:
    # Case folding can lengthen a name ("ﬃ" becomes "ffi"): the login column must hold the longer form.
    if len(login_name(name)) > NAME_MAX:
        raise ValueError(f"Please use a shorter name: written for login it is longer than {NAME_MAX} characters.")
    return name


def login_may_exist(name: str) -> str:
    # No household has a login this long, so the answer is the one a wrong password gets.
    if len(login_name(name)) > NAME_MAX:
        raise ValueError("That household name and password don't match.")
    return name


HouseholdName = Annotated[Name, AfterValidator(login_fits)]


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


class Checked(BaseModel):
    """Text as the app keeps it: without surrounding spaces or NUL characters."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def without_nul(cls, value: object) -> object:
        return drop_nul(value) if isinstance(value, str) else value


class Input(Checked):
    model_config = ConfigDict(extra="forbid")


class EnhancerIn(Input):
    name: Name
    kind: Kind = Kind.other
    spike: Spike = 1


class EnhancerPatch(Input):
    name: Name | None = None
    kind: Kind | None = None
    spike: Spike | None = None


class HabitIn(Input):
    name: Name
    emoji: Emoji = "🏃"
    why: Text = ""
    minimum: Text = ""
    mode: Mode = Mode.all_or_nothing
    chance: Chance = 0.5
    max_stack: MaxStack | None = None
    every_hours: EveryHours | None = None
    enhancer_ids: EnhancerIds = Field(default_factory=list)


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
    chance: Chance | None = None
    max_stack: MaxStack | None = None
    every_hours: EveryHours | None = None
    enhancer_ids: EnhancerIds | None = None


class ReflectionIn(Input):
    effort: Score
    enjoyment: Score
    followed: Followed
    note: Note = ""


class MemberIn(Input):
    name: Name
    emoji: Emoji = "🙂"


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
            raise ValueError("The two passwords are not the same.")
        return value


class HouseholdIn(RepeatedPassword):
    name: HouseholdName
    member: Name


class PasswordChange(RepeatedPassword):
    current: str = Field(min_length=1, max_length=200)


class TimeZoneIn(Input):
    timezone: TimeZoneName


class TokenIn(Input):
    name: str = Field(default="", max_length=NAME_MAX)


class LoginIn(Input):
    name: Annotated[Name, AfterValidator(login_may_exist)]
    password: str = Field(min_length=1, max_length=200)


class PleasureIn(Input):
    name: Name
    enjoyment: Score
    craving: Score
