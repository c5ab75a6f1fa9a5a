"""Templates and render(): a whole page, or for htmx the partial it swaps; always `Vary: HX-Request`."""

import functools
import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app import copy, flips, i18n, security
from app.deps import cookie_name, csrf_binding, get_settings
from app.headers import route_path
from app.models import NAME_MAX, NOTE_MAX, TEXT_MAX, Member, utcnow

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
HTMX = "htmx-2.0.11.min.js"
PATH_CACHE_SIZE = 10_000


def path_for(app: Starlette, name: str, params: tuple[tuple[str, str], ...]) -> str:
    """A route's path, memoised per app: the router's own lookup walks every route on every call, and a page
    builds a dozen links."""
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], str] = app.state._state.setdefault("paths", {})
    key = (name, params)
    if key not in cache:
        if len(cache) > PATH_CACHE_SIZE:
            cache.clear()
        cache[key] = str(app.url_path_for(name, **dict(params)))
    return str(cache[key])


@functools.cache
def static_version(path: str) -> str:
    """A short hash of a static file's content, so its URL changes exactly when the file does."""
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def app_root(request: Request) -> str:
    """The app's sub-path ("" at the root). Inside a mount (a 404 of /static) root_path has the mount's path too."""
    scope = request.scope
    return str(scope.get("app_root_path", scope.get("root_path", "")))


def url_path(request: Request, name: str, /, *, query: Mapping[str, str | int] | None = None, **params: Any) -> str:
    """A route's path under the app's sub-path: each parameter is one path segment, percent-encoded, so a
    pleasure called "a?b#c/d %" links to its own page; `query` is appended ("?before=3")."""
    # An id needs no quoting (a dozen links on Today are a habit's or a flip's).
    encoded = tuple(
        sorted((key, str(value) if type(value) is int else quote(str(value), safe="")) for key, value in params.items())
    )
    path = app_root(request) + path_for(request.app, name, encoded)
    return f"{path}?{urlencode(query)}" if query else path


def common_context(request: Request) -> dict[str, Any]:
    settings = get_settings(request)
    root = app_root(request)

    def static(path: str) -> str:
        return f"{root}/static/{path}?v={static_version(path)}"

    zone = ZoneInfo(getattr(request.state, "timezone", None) or settings.timezone)
    now: datetime = getattr(request.state, "now", None) or utcnow()

    def when(moment: datetime) -> str:
        return i18n.when(moment, zone)

    def from_time(moment: datetime) -> str:
        return i18n.from_time(moment, now, zone)

    def at_time(moment: datetime) -> str:
        """ "at 07:02" today, "on Tue 24 Nov 2026, 07:02" another day: the seal line's times."""
        local = moment.astimezone(zone)
        if local.date() == now.astimezone(zone).date():
            # Translators: when a flip was sealed or revealed, today ("Sealed at 07:02 as 3f2a…").
            return i18n.gettext("at %(time)s", time=i18n.clock(local))
        # Translators: when a flip was sealed or revealed, another day ("Sealed on Mon 23 Nov 2026, 23:10 as …").
        return i18n.gettext("on %(moment)s", moment=i18n.when(moment, zone))

    return {
        "url": functools.partial(url_path, request),
        "at_time": at_time,
        "time_zone": zone.key,
        "static": static,
        "when": when,
        "from_time": from_time,
        "now": now,
        "lang": i18n.current(),
        "htmx": HTMX,
        "csrf_token": security.csrf_token(settings.key, csrf_binding(request)),
        "theme": theme_of(request),
        "me": acting_member(request),
        "login": getattr(request.state, "login", None),
        "section": route_path(request.scope).split("/")[1],  # the navigation marks the part a page is in
    }


def acting_member(request: Request) -> Member | None:
    """The member the page is shown to: the one the route asked for, else the one picked on this device, so pages
    that only need the login (who's this?, a member's form) have the navigation too."""
    found = getattr(request.state, "login_and_member", None)
    member: Member | None = getattr(request.state, "member", None) or (found[1] if found else None)
    return member


THEMES = ("system", "light", "dark")
THEME_COOKIE = "coinflip_theme"


def theme_of(request: Request) -> str:
    """Light or dark as picked on this device, else whatever the system says."""
    theme = request.cookies.get(cookie_name(request, THEME_COOKIE), "system")
    return theme if theme in THEMES else "system"


templates = Jinja2Templates(directory=ROOT / "templates", context_processors=[common_context])
templates.env.add_extension("jinja2.ext.i18n")
templates.env.auto_reload = False  # templates change with a release, not while it runs: no stat() per render
# Installed once: each call looks up the request's language (app/i18n.py), so nothing is bound per request.
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.jinja_gettext, i18n.jinja_ngettext, newstyle=True, pgettext=i18n.jinja_pgettext,
    npgettext=i18n.jinja_npgettext,
)  # fmt: skip
templates.env.filters.update(
    decimal=i18n.decimal, number=i18n.number, percent=i18n.percent, short_date=i18n.short_date,
    long_date=i18n.long_date, duration=i18n.duration,
)  # fmt: skip
# The form macros (csrf, error, text_field, …) are globals, made once: a `{% from … import %}` in an included
# template (a card, a form) would build the macros anew on every include.
_macros = templates.env.get_template("_macros.html").module
templates.env.globals.update({name: getattr(_macros, name) for name in dir(_macros) if not name.startswith("_")})
# The lengths the server takes (app/models.py), shown beside the fields as they are typed.
templates.env.globals["limits"] = {"name": NAME_MAX, "text": TEXT_MAX, "note": NOTE_MAX}
templates.env.globals["languages"] = i18n.LANGUAGES
templates.env.globals["counted"] = copy.counted
templates.env.globals["reminder_body"] = copy.reminder_body


# An offline reveal's refusals, by the API's English words, in the page's language (static/offline.js shows them).
@functools.cache
def drawn(name: str, words: object) -> Markup:
    """A template that depends on nothing but the page's language, drawn once per language (`words`, its
    translations: a catalog loaded anew, as the tests do, draws it anew). The words static/app.js shows and the
    offline reflection form were a fifth of Today's time, drawn the same on every page."""
    return Markup(templates.env.get_template(name).render())  # noqa: S704 (autoescaped by the template itself)


templates.env.globals["drawn_once"] = lambda name: drawn(name, i18n.translations(i18n.current()))

templates.env.globals["reveal_refusals"] = lambda: {words: i18n.gettext(words) for words in flips.REVEAL_REFUSALS}
# The words for the API's enum values (which never translate), translated as each page is drawn.
templates.env.globals["coin_words"] = {
    "heads": i18n.lazy_gettext("heads"),
    "tails": i18n.lazy_gettext("tails"),
    "mixed": i18n.lazy_gettext("mixed"),
}
templates.env.globals["followed_words"] = {
    "yes": i18n.lazy_gettext("Yes"),
    "partly": i18n.lazy_gettext("Partly"),
    "no": i18n.lazy_gettext("No"),
}
templates.env.globals["kind_words"] = {
    "drink": i18n.lazy_gettext("Drink"),
    "media": i18n.lazy_gettext("Media"),
    "social": i18n.lazy_gettext("Social"),
    "substance": i18n.lazy_gettext("Substance"),
    "other": i18n.lazy_gettext("Other"),
}
# Translators: a member's colour, read out by screen readers on the member's form.
templates.env.globals["colour_words"] = {
    "blue": i18n.lazy_gettext("Blue"),
    "teal": i18n.lazy_gettext("Teal"),
    "green": i18n.lazy_gettext("Green"),
    "amber": i18n.lazy_gettext("Amber"),
    "orange": i18n.lazy_gettext("Orange"),
    "rose": i18n.lazy_gettext("Rose"),
    "violet": i18n.lazy_gettext("Violet"),
    "slate": i18n.lazy_gettext("Slate"),
}
templates.env.globals["spike_words"] = {
    1: i18n.lazy_gettext("Mild"),
    2: i18n.lazy_gettext("Strong"),
    3: i18n.lazy_gettext("Very strong"),
}

EXCERPT_CHARACTERS = 280
EXCERPT_LINES = 4


def excerpt(text: str) -> str | None:
    """The beginning of a long text, cut at a word (or a line) and ending in "…"; None if it is short already."""
    lines = text.splitlines()
    if len(text) <= EXCERPT_CHARACTERS and len(lines) <= EXCERPT_LINES:
        return None
    start = "\n".join(lines[:EXCERPT_LINES])[:EXCERPT_CHARACTERS]
    cut = start.rsplit(None, 1)[0] if " " in start.strip() else start
    return cut.rstrip(" ,.;:–-") + "…"


templates.env.filters["excerpt"] = excerpt


def wants_partial(request: Request) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(
    request: Request, page: str, *, partial: str | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    template = partial if partial and wants_partial(request) else page
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    # The words depend on the browser's languages too (a member's own choice rides on the login cookie).
    response.headers["Vary"] = "HX-Request, Accept-Language"
    fresh_anon = getattr(request.state, "fresh_anon", None)
    if fresh_anon:
        set_cookie(request, response, security.ANON_COOKIE, fresh_anon)
    return response


def cookie_path(request: Request) -> str:
    return f"{app_root(request)}/"


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """HttpOnly and SameSite=Lax always; Secure and prefixed when the request came over HTTPS."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=cookie_path(request),
        max_age=400 * 24 * 3600,
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(cookie_name(request, name), path=cookie_path(request), secure=secure, httponly=True)


def redirect(
    request: Request, name: str, /, *, query: Mapping[str, str | int] | None = None, **params: Any
) -> RedirectResponse:
    """Post/redirect/get: a 303 to a named route's path (never a URL naming the Host header); `query` tells the
    page what just happened ("?archived=3")."""
    return RedirectResponse(url_path(request, name, query=query, **params), status_code=303)


def local_path(value: object) -> str | None:
    """`value` if it is a path of this app to come back to ("/insights?before=3"), else None: only printable ASCII,
    one leading slash, no scheme or host, no backslash (which browsers read as a slash: "/\\evil.example")."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or not all("!" <= char <= "~" for char in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def back_to(request: Request, target: object, name: str, /) -> RedirectResponse:
    """A 303 to `target` if it is a path of this app (a page asked for before logging in, `?next=`), else to the
    named route: never to another site, whatever a form or a link sent."""
    path = local_path(target)
    if path is None:
        return redirect(request, name)
    return RedirectResponse(app_root(request) + path, status_code=303)
