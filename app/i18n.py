"""Languages: the locales Coinflip speaks, which one a request gets, and words, dates and numbers in it."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from babel import Locale, dates, numbers
from babel.support import LazyProxy, NullTranslations, Translations
from starlette.types import ASGIApp, Receive, Scope, Send

from app.headers import asks_api

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
SOURCE = "en"
# Each language named in itself, as the Settings choice offers it.
LANGUAGES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français"}
# English is written British (colour, 24-hour times); the other languages format as their own locale does.
FORMATS = {"en": "en_GB", "de": "de_DE", "es": "es_ES", "fr": "fr_FR"}
# A locale only the tests use (tests/pseudo.py writes its catalog): every word wrapped, to find unmarked ones.
PSEUDO = "en_XA"
HEADER_CACHE_SIZE = 1024


@dataclass
class Choice:
    """The language of the request under way. A mutable box in the context variable, so that a dependency that
    finds the member (run in its own copy of the context) can change it for the handler and the page."""

    language: str = SOURCE


_current: ContextVar[Choice | None] = ContextVar("language", default=None)


def current() -> str:
    choice = _current.get()
    return choice.language if choice else SOURCE


def use(language: str | None) -> None:
    """The member's own choice, once they are known: it wins over the browser's (outside a page request, English
    stays)."""
    choice = _current.get()
    if choice is not None and language is not None and (language in LANGUAGES or language == PSEUDO):
        choice.language = language


@functools.cache
def translations(language: str) -> NullTranslations:
    if language == SOURCE:
        return NullTranslations()
    return Translations.load(TRANSLATIONS, [language])


@functools.cache
def locale(language: str) -> Locale:
    return Locale.parse(FORMATS.get(language, "en_GB"))


@functools.lru_cache(maxsize=HEADER_CACHE_SIZE)
def negotiate(accept_language: str) -> str:
    """The best of our languages for an Accept-Language header ("de-CH,de;q=0.9,en;q=0.8" → "de")."""
    wanted = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            wanted.append((quality, tag.replace("-", "_")))
    preferred = [tag for _, tag in sorted(wanted, key=lambda item: -item[0])]
    if preferred and preferred[0] == PSEUDO and (TRANSLATIONS / PSEUDO).exists():  # built by the tests only
        return PSEUDO
    found = Locale.negotiate(preferred, list(LANGUAGES), sep="_") if preferred else None
    return found.language if found else SOURCE


def gettext(message: str, /, **variables: object) -> str:
    translated = translations(current()).gettext(message)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, n: int, /, **variables: object) -> str:
    """A sentence with a number in it; `num` is that number, formatted for the locale, and may be used in it."""
    translated: str = translations(current()).ngettext(singular, plural, n)
    return translated % {"num": number(n), **variables}


def pgettext(context: str, message: str, /, **variables: object) -> str:
    translated = str(translations(current()).pgettext(context, message))
    return translated % variables if variables else translated


def lazy_gettext(message: str, /, **variables: object) -> LazyProxy:
    """For module-level copy, translated when shown (in whatever language the page is in)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def N_(message: str) -> str:  # noqa: N802 (the convention's name; pybabel extracts it)
    """Marks a string for translation without translating it: it is stored or compared in English and translated
    where it is shown (`_(view.flip.prompt)` in a template)."""
    return message


# Jinja's i18n extension (newstyle): it formats and escapes the variables itself.
def jinja_gettext(message: str) -> str:
    return translations(current()).gettext(message)


def jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def jinja_pgettext(context: str, message: str) -> str:
    translated = str(translations(current()).pgettext(context, message))
    return translated


def jinja_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current()).npgettext(context, singular, plural, n)


# Numbers, dates and times in the request's locale; moments in the household's time zone.
def number(value: float) -> str:
    return numbers.format_decimal(value, locale=locale(current()))


def decimal(value: float | None) -> str:
    """A mean as every page shows one: "7.0" beside "6.7" (or "7,0" in German), never "6.67"."""
    return "" if value is None else numbers.format_decimal(value, "0.0", locale=locale(current()))


def percent(share: float) -> str:
    return numbers.format_percent(share, locale=locale(current()))


def short_date(day: date) -> str:
    """A day of a chart's axis: "24 Nov", "24. Nov."."""
    return dates.format_skeleton("MMMd", day, locale=locale(current()))


def long_date(day: date) -> str:
    """A day in a sentence: "24 November", "24. November"."""
    return dates.format_skeleton("MMMMd", day, locale=locale(current()))


def when(moment: datetime, zone: tzinfo) -> str:
    """A moment with its weekday and date: "Tue, 24 Nov 2026, 18:30", "Di., 24. Nov. 2026, 18:30"."""
    here = locale(current())
    local = moment.astimezone(zone)
    day = dates.format_skeleton("yMMMEd", local, locale=here)
    return str(here.datetime_formats["medium"]).format(clock(local), day)


def clock(moment: datetime | time) -> str:
    """A time of day as the locale says it (24-hour or 12-hour)."""
    return dates.format_time(moment, "short", locale=locale(current()))


def from_time(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """When something becomes possible, as a person says it: "18:30 today", "midnight tonight"."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        # Translators: when the next flip is possible, in "Next flip of Gym from %(time)s": "18:30 today".
        return gettext("%(time)s today", time=clock(local))
    if local.date() == today + timedelta(days=1):
        if local.time() == time(0):
            # Translators: when the next flip is possible, the start of the next day: "from midnight tonight".
            return gettext("midnight tonight")
        return gettext("%(time)s tomorrow", time=clock(local))
    return when(moment, zone)


def duration(seconds: float) -> str:
    """A span of time in words: "3 hours", "2 Tage"."""
    if seconds < 60:
        return gettext("moments")
    return dates.format_timedelta(timedelta(seconds=seconds), threshold=1, locale=locale(current()))


def language_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"accept-language":
            return negotiate(value.decode("latin-1")[:HEADER_CACHE_SIZE])
    return SOURCE


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """The language of what is said inside: a page request's, from Languages (or a refusal's, app/errors.py)."""
    token = _current.set(Choice(language))
    try:
        yield
    finally:
        _current.reset(token)


class Languages:
    """Pure ASGI middleware: each page request starts in the language its browser asks for. The JSON API stays
    English (its `detail` messages are for scripts and logs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or asks_api(scope):
            await self.app(scope, receive, send)
            return
        with speaking(language_of(scope)):
            await self.app(scope, receive, send)
