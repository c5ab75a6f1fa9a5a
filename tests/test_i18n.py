"""Languages: every word shown is marked for translation (found in a pseudo-locale), every catalog is complete,
the language is negotiated from the browser and a member's own choice wins, and the API stays English."""

import json
import re
from html import escape
from html.parser import HTMLParser

import pytest
from babel import Locale
from babel.messages.checkers import checkers
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import flips, i18n, notify
from app.config import Settings
from app.models import Seal
from tests import catalogs, factories
from tests.conftest import Clock, Home

PSEUDO = {"Accept-Language": "en-XA"}
# What the user typed starts with "Zq" here, so that it is told apart from the app's own words.
ENGLISH_DATES = Locale.parse("en_GB")
DATE_WORDS = {
    str(word).strip(".").casefold()
    for width in ("abbreviated", "wide")
    for words in (ENGLISH_DATES.months["format"][width], ENGLISH_DATES.days["format"][width])
    for word in words.values()
}
# Not words of the app's copy: the brand, and what a terminal or a file format is called.
NAMES = {"coinflip", "pytest", "sha", "api", "json", "csv", "pm", "am"}
# The household's time zone, as IANA names it (the Reminders page says which its times are in).
NAMES |= {"utc"}
# Each language named in itself (Settings), and the words Babel's list patterns join names with ("A, B or C").
NAMES |= {name.casefold() for name in i18n.LANGUAGES.values()} | {"and", "or"}
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "label")


class Visible(HTMLParser):
    """The text a person sees or hears: text nodes and the attributes read out, not scripts, code or the list of
    time zones (IANA's names)."""

    SKIPPED = {"script", "style", "code", "pre", "select", "datalist"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.SKIPPED and not (tag == "select" and values.get("id") != "timezone"):
            self.skipping.append(tag)
        if self.skipping:
            return
        self.texts.extend(str(values[name]) for name in SHOWN_ATTRIBUTES if values.get(name))
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.texts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.texts.append(data)


def unmarked(html: str) -> list[str]:
    """Words outside ⟦…⟧ that are not the user's, a date or a name."""
    parser = Visible()
    parser.feed(html)
    found = []
    for text in parser.texts:
        rest = re.sub(r"⟦[^⟧]*⟧|\S*/\S*", " ", text)  # the marked words, and paths (/openapi.json)
        for word in re.findall(r"[^\W\d_]{2,}", rest):
            if not word.startswith("Zq") and word.casefold() not in DATE_WORDS | NAMES:
                found.append(f"{word!r} in {text.strip()[:80]!r}")
    return found


@pytest.fixture
def pseudo() -> None:
    catalogs.build_pseudo()


@pytest.fixture
def lived_in(client: TestClient, db: Session, settings: Settings) -> Home:
    """A household with a history, every kind of thing in it named by its user: habits, enhancers, a flip drawn
    by the app and reflected on, one left open, a pleasure check, a token and a second member with a PIN."""
    household = factories.make_household(db, "Zqhouse")
    member = factories.make_member(db, household, "Zqana")
    factories.make_member(db, household, "Zqben", pin="2468")
    factories.make_member(db, household, "Zqcleo")
    token = factories.log_in(client, db, settings, household, member)
    music = factories.make_enhancer(db, member, "Zqmusic")
    coffee = factories.make_enhancer(db, member, "Zqcoffee")
    for name, linked in (("Zqrun", [music, coffee]), ("Zqgym", [music]), ("Zqnone", [])):
        habit = factories.make_habit(db, member, name, linked)
        habit.why, habit.minimum = "Zqwhy", "Zqmin"
        db.add(habit)
    db.commit()
    for habit_id in (1, 2):
        assert client.post(f"/habits/{habit_id}/flips").status_code in (200, 201, 303)
    reflection = {"effort": "8", "enjoyment": "9", "followed": "partly", "note": "Zqnote " * 80}
    assert client.post("/flips/1/reflection", data=reflection).status_code == 303
    assert client.post("/pleasures", data={"name": "Zqtea", "enjoyment": "5", "craving": "7"}).status_code == 303
    assert client.post("/settings/tokens", data={"name": "Zqtoken"}).status_code == 303
    assert client.post("/settings/devices/1/name", data={"device_name": "Zqphone"}).status_code == 303
    # A reminder, a device and an Apprise URL, where nothing listens (their tests fail, in words to check too).
    assert client.post("/reminders/habits/1", data={"days": ["mon", "wed"], "time": "18:00"}).status_code == 303
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    keys = {"p256dh": notify.b64url(raw), "auth": notify.b64url(bytes(16))}
    device = {"endpoint": "http://127.0.0.1:1/Zqpush", "keys": keys}
    assert client.post("/api/v1/push/subscriptions", json=device).status_code == 201
    assert client.post("/reminders/apprise", data={"url": "json://127.0.0.1:1/Zqhook"}).status_code == 303
    return Home(household, member, token)


PAGES = [
    "/", "/flips/1", "/flips/2", "/flips/1/reflection", "/history", "/history?habit=1", "/insights",
    "/insights/habits/1", "/insights/habits/2", "/pleasures", "/pleasures/Zqtea", "/habits", "/habits/new",
    "/habits/1/edit", "/habits/3/edit", "/habits?saved=1", "/enhancers", "/enhancers?added=1", "/enhancers/1/edit",
    "/members", "/members?added=2", "/members?pin_saved=true", "/members/new", "/members/1/edit",
    "/members/2/edit", "/members/3/edit", "/members/2/pick", "/members/2/forgot-pin", "/settings",
    "/settings?theme_saved=true", "/settings?changed=true", "/settings?language_saved=true", "/nothing-here", "/docs",
    "/reminders", "/reminders?saved=1", "/reminders?saved=2", "/reminders?push_on=true", "/reminders?added=true",
    "/offline",
]  # fmt: skip


def test_every_word_on_every_page_is_marked_for_translation(client: TestClient, lived_in: Home, pseudo: None) -> None:
    """Each page in the pseudo-locale, where every translated string is wrapped in ⟦…⟧: a word outside one is
    English nobody marked (names the user typed start with "Zq" here)."""
    found = []
    for path in PAGES:
        response = client.get(path, headers=PSEUDO)
        assert response.status_code in (200, 403, 404), path
        assert '<html lang="en-XA"' in response.text, path
        found.extend(f"{path}: {problem}" for problem in unmarked(response.text))
    assert found == [], "\n".join(found)


def test_a_seal_on_today_and_the_seal_line_of_its_flip_are_marked(
    client: TestClient, db: Session, lived_in: Home, clock: Clock, pseudo: None
) -> None:
    """Today with a seal on a card, then its flip revealed the next day: "Sealed on …, 09:00 as 3f2a…; revealed at
    09:13", every word of it marked."""
    swim = factories.make_habit(db, lived_in.member, "Zqswim", [factories.make_enhancer(db, lived_in.member, "Zqsun")])
    swim.why, swim.minimum = "Zqwhy", "Zqmin"
    db.add(swim)
    db.commit()
    today = client.get("/", headers=PSEUDO).text
    assert 'class="seal-note' in today
    clock.advance(days=1, minutes=13)
    flip = client.post(f"/api/v1/habits/{swim.id}/flips")
    assert flip.status_code == 201
    page = client.get(f"/flips/{flip.json()['id']}", headers=PSEUDO).text
    assert "data-seal-line" in page and "⟦on" in page and "⟦at" in page
    assert unmarked(today) + unmarked(page) == []


def script_words(page: str) -> dict[str, object]:
    """The words static/app.js and static/offline.js show: base.html's #words."""
    found = re.search(r'<script type="application/json" id="words">(.*?)</script>', page, re.S)
    assert found is not None
    words: dict[str, object] = json.loads(found.group(1))
    return words


def test_the_words_the_scripts_show_are_marked(client: TestClient, db: Session, lived_in: Home, pseudo: None) -> None:
    """Offline (the notice, a flip revealed and kept on the phone, the seal line's end, why the server refused a
    reveal): the words are the page's, in its language. The refusals stay English in the API, for scripts, and
    the page says them in its own words."""

    def texts(value: object) -> list[str]:
        if isinstance(value, dict):
            return [text for inner in value.values() for text in texts(inner)]
        if isinstance(value, list):
            return [text for inner in value for text in texts(inner)]
        return [str(value)]

    words = script_words(client.get("/", headers=PSEUDO).text)
    shown = [re.sub(r"\{\w+\}", " ", text) for text in texts(words)]  # {n}, {time}: what the script puts in
    assert unmarked("".join(f"<p>{escape(text)}</p>" for text in shown)) == []
    assert set(words["revealRefusals"]) == set(flips.REVEAL_REFUSALS)  # type: ignore[arg-type]
    # A reveal of a seal this habit no longer has: the API's reason is English, the German page has it in German.
    swim = factories.make_habit(db, lived_in.member, "Zqswim", [factories.make_enhancer(db, lived_in.member, "Zqsun")])
    client.get("/")
    seal = db.exec(select(Seal).where(Seal.habit_id == swim.id)).one()
    when = f"{seal.sealed_at:%FT%TZ}"
    reveal = {"commitment": "0" * 64, "coin": seal.coin.value, "enhancers": [], "revealed_at": when}
    refused = client.post(f"/api/v1/habits/{swim.id}/flips", json=reveal, headers={"Accept-Language": "de"})
    assert refused.status_code == 409 and refused.json()["detail"] == flips.SEAL_NOT_CURRENT
    german = script_words(client.get("/", headers={"Accept-Language": "de"}).text)["revealRefusals"]
    assert german[flips.SEAL_NOT_CURRENT].startswith("Dieser versiegelte Münzwurf")  # type: ignore[index]
    assert german[flips.REVEAL_DIFFERS].startswith("Das ist nicht das Ergebnis")  # type: ignore[index]


def test_pages_before_anyone_is_picked_are_marked_too(client: TestClient, db: Session, pseudo: None) -> None:
    found = [f"/signup: {problem}" for problem in unmarked(client.get("/signup", headers=PSEUDO).text)]
    factories.make_household(db, "Zqhouse")
    found += [f"/login: {problem}" for problem in unmarked(client.get("/login", headers=PSEUDO).text)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/habits", {"name": "", "chance": "5", "emoji": "x", "every_hours": "99"}),
        ("/habits", {"name": "Zqrun", "chance": "50", "max_stack": "abc"}),
        ("/habits", {"name": "Zq" + "x" * 99}),
        ("/enhancers", {"name": "Zqmusic", "kind": "drink", "spike": "2"}),
        ("/settings/password", {"current": "wrong", "password": "short", "password_again": "other"}),
        ("/settings/password", {"current": "wrong", "password": "password1", "password_again": "password1"}),
        ("/settings/devices/1/name", {"device_name": ""}),
        ("/members", {"name": "Zqana"}),
        ("/members/1/edit", {"name": ""}),
        ("/members/2/edit", {"name": "Zqben"}),
        ("/habits/2/archive", {}),
        ("/habits/1/delete", {}),
        ("/reminders/habits/1", {"time": "25:00"}),
        ("/reminders/apprise", {"url": "Zqnot a url"}),
        ("/reminders/apprise/1/test", {}),
        ("/reminders/push/test", {}),
    ],
)
def test_form_errors_and_refusals_are_marked(
    client: TestClient, lived_in: Home, pseudo: None, path: str, form: dict[str, str]
) -> None:
    response = client.post(path, data=form, headers=PSEUDO)
    assert response.status_code in (403, 409, 422), response.status_code
    assert unmarked(response.text) == []


def test_sign_up_and_log_in_errors_are_marked(client: TestClient, db: Session, pseudo: None) -> None:
    signup = {"name": "", "password": "short", "password_again": "other", "member": "", "timezone": "Nowhere/Zq"}
    assert unmarked(client.post("/signup", data=signup, headers=PSEUDO).text) == []
    factories.make_household(db, "Zqhouse")
    page = client.get("/login", headers=PSEUDO).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    form = {"name": "Zqhouse", "password": "wrong password", "csrf_token": csrf.group(1)}
    wrong = client.post("/login", data=form, headers=PSEUDO)
    assert wrong.status_code == 422 and unmarked(wrong.text) == []


def test_the_why_line_and_prompts_are_marked() -> None:
    """The copy chosen in Python (app/copy.py) is in the catalog: each prompt, each suggestion."""
    from app import copy

    ids = {catalogs.key(message)[0] for message in catalogs.messages(catalogs.extracted())}
    chosen = [*copy.PROMPTS, *(name for name, _, _ in copy.SUGGESTED_ENHANCERS)]
    assert [text for text in chosen if text not in ids] == []


def test_the_catalog_template_is_up_to_date_with_the_source() -> None:
    """messages.pot holds exactly what is marked now: after marking a string, `make messages` (and translating)."""
    fresh = {catalogs.key(message) for message in catalogs.messages(catalogs.extracted())}
    with catalogs.POT.open("rb") as file:
        saved = {catalogs.key(message) for message in catalogs.messages(catalogs.read_po(file))}
    assert sorted(fresh - saved) == [], "marked but not in messages.pot: run `make messages`"
    assert sorted(saved - fresh) == [], "in messages.pot but no longer marked: run `make messages`"


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_each_catalog_translates_every_string(language: str) -> None:
    """Every string of the source in the language's catalog: translated (each plural form), not fuzzy, with the
    same placeholders."""
    catalog = catalogs.po(language)
    problems = []
    for message in catalogs.messages(catalogs.extracted()):
        ident, context = catalogs.key(message)
        found = catalog.get(message.id if isinstance(message.id, str) else message.id[0], context=context)
        if found is None:
            problems.append(f"missing: {ident!r}")
            continue
        forms = found.string if isinstance(found.string, tuple | list) else (found.string,)
        if not all(forms) or len(forms) < (catalog.num_plurals if isinstance(found.id, tuple | list) else 1):
            problems.append(f"untranslated: {ident!r}")
        elif found.fuzzy:
            problems.append(f"fuzzy: {ident!r}")
        else:
            for checker in checkers:
                try:
                    checker(catalog, found)
                except Exception as error:  # babel's TranslationError, with the checker's reason
                    problems.append(f"{error}: {ident!r}")
    assert problems == [], f"{len(problems)} problems in {language}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("header", "lang", "word"),
    [("de-DE,de;q=0.9,en;q=0.5", "de", "de"), ("fr-CA", "fr", "fr"), ("es-MX,es;q=0.8", "es", "es"),
     ("ja,en;q=0.5", "en", "en"), ("", "en", "en")],
)  # fmt: skip
def test_the_page_is_in_the_browsers_language(
    client: TestClient, db: Session, header: str, lang: str, word: str
) -> None:
    factories.make_household(db, "Zqhouse")
    response = client.get("/login", headers={"Accept-Language": header} if header else {})
    assert f'<html lang="{lang}"' in response.text


def test_a_members_own_language_wins_over_the_browsers_and_the_api_stays_english(
    client: TestClient, lived_in: Home, db: Session
) -> None:
    before = client.get("/settings", headers={"Accept-Language": "fr"})
    assert '<html lang="fr"' in before.text and 'value="de"' in before.text and "Deutsch" in before.text
    saved = client.post("/settings/language", data={"language": "de"}, headers={"Accept-Language": "fr"})
    assert saved.status_code == 303
    assert '<html lang="de"' in client.get("/settings", headers={"Accept-Language": "fr"}).text
    assert "<h1>Kein Netz</h1>" in client.get("/offline", headers={"Accept-Language": "fr"}).text  # kept for offline
    refused = client.post("/api/v1/habits/3/flips", headers={"Accept-Language": "de"})
    assert refused.status_code == 409 and refused.json()["detail"].startswith("This habit has no enhancers")
    assert client.post("/settings/language", data={"language": ""}).status_code == 303
    assert '<html lang="fr"' in client.get("/settings", headers={"Accept-Language": "fr"}).text
    assert client.post("/settings/language", data={"language": "xx"}).status_code == 303  # unknown: automatic
    assert '<html lang="es"' in client.get("/", headers={"Accept-Language": "es"}).text


def test_dates_and_numbers_follow_the_locale(client: TestClient, lived_in: Home, db: Session) -> None:
    """The flip's time as each locale writes it (in the household's time zone), and a mean with its comma."""
    english = client.get("/flips/1").text
    assert re.search(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", english)
    german = client.get("/flips/1", headers={"Accept-Language": "de"}).text
    assert re.search(r"[A-Z][a-z]\., \d{1,2}\. [A-Z][a-z]{2}\.? \d{4}, \d\d:\d\d", german), german
    assert i18n.negotiate("de") == "de"
