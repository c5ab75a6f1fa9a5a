"""Every page in German, Spanish and French (and the pseudo-locale) on a 390×844 phone, with the longest names: no
sideways scrolling (German words are long), no English left on the page besides what the user typed, `<html lang>`
right, and the flip's date as the locale writes it."""

import re
from collections.abc import Iterator
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from babel import Locale, dates
from sqlmodel import Session, select

from app import i18n
from app.models import AppriseTarget, Colour, Flip, Habit, Household, Reminder
from tests import catalogs, factories
from tests.test_browser import SHOTS
from tests.test_browser_phone import (
    ENHANCER,
    HABIT,
    HOUSEHOLD,
    MEMBER,
    NOTE,
    PLEASURE,
    TOKEN,
    WHY,
    browser,  # noqa: F401 (the module's one Chromium)
    household_of,
    sign_up_with_long_names,
)

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, Page  # noqa: E402

PHONE = {"width": 390, "height": 844}
LOCALES = {"de": "de-DE", "es": "es-ES", "fr": "fr-FR", i18n.PSEUDO: "en-XA"}
# What the user typed, and the device's name, made in English when the household was set up in English.
USER_DATA = (HOUSEHOLD, MEMBER, ENHANCER, HABIT, PLEASURE, TOKEN, NOTE, WHY, "Gym", "Strong legs.", "Ben", "Cleo",
             "Chrome on Linux")  # fmt: skip
# Words that are English and the same in the language, or names: not a translation left out.
SAME = {"coinflip", "api", "json", "csv", "pin", "sha", "https", "http", "bearer", "authorization", "chrome", "linux"}
PAGES = {
    "today": "/", "flip": "/flips/1", "reflection-edit": "/flips/1/reflection", "history": "/history",
    "insights": "/insights", "insights-habit": "/insights/habits/1", "pleasures": "/pleasures",
    "pleasure": f"/pleasures/{PLEASURE}", "habits": "/habits", "habit-new": "/habits/new",
    "habit-edit": "/habits/1/edit", "enhancers": "/enhancers", "enhancer-edit": "/enhancers/1/edit",
    "members": "/members", "member-new": "/members/new", "member-edit": "/members/1/edit",
    "member-other": "/members/3/edit",
    "member-pin": "/members/2/pick", "member-forgot-pin": "/members/2/forgot-pin", "settings": "/settings",
    "reminders": "/reminders", "reminder-saved": "/reminders?saved=1", "not-found": "/nothing-here",
    "offline": "/offline",
}  # fmt: skip
LOGGED_OUT = {"login": "/login", "signup": "/signup"}

# The visible words of the page with every disclosure open, and the attributes a screen reader reads out.
# The time zones' list is IANA's names (Europe/Berlin), not the app's words.
READ = """() => {
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const zones = document.getElementById('timezone');
  if (zones) zones.hidden = true;
  // Code is what a terminal takes, and a seal's line is the verdict in the API's words: neither translates.
  const code = [...document.querySelectorAll('code')].filter((c) => !c.hidden);
  code.forEach((c) => { c.hidden = true; });
  const texts = [document.body.innerText, document.title];
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  // A chart's words don't wrap: one wider than its chart is cut off at the card's edge.
  const cut = [];
  for (const text of document.querySelectorAll('svg text')) {
    const box = text.getBBox();
    const view = text.ownerSVGElement.viewBox.baseVal;
    if (box.x < view.x - 1 || box.x + box.width > view.x + view.width + 1) cut.push(text.textContent.trim());
  }
  const lang = document.documentElement.lang;
  const width = document.scrollingElement.scrollWidth;
  document.querySelectorAll('details').forEach((d) => { d.open = false; });
  if (zones) zones.hidden = false;
  code.forEach((c) => { c.hidden = false; });
  return {texts, lang, width, cut};
}"""


def words_of(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]{2,}", re.sub(r"%\([a-z_]+\)s|<[^>]+>|\{n\}", " ", text))


def english_left(language: str) -> set[str]:
    """The words of the English copy that the language's translations never use: seen on a page, they are
    English left over (a word shared by both, like "Podcast", is fine)."""
    source, translated = set(), set()
    catalog = catalogs.po(language) if language != i18n.PSEUDO else None
    for message in catalogs.messages(catalogs.extracted()):
        forms = [message.id] if isinstance(message.id, str) else list(message.id)
        source.update(word.casefold() for form in forms for word in words_of(form))
        if catalog is not None:
            found = catalog.get(forms[0], context=message.context)
            strings = [] if found is None else [found.string] if isinstance(found.string, str) else found.string
            translated.update(word.casefold() for form in strings if form for word in words_of(form))
    return source - translated - SAME


@pytest.fixture(scope="module")
def lived_in(browser: Browser, app_url: tuple[str, Session]) -> Iterator[dict[str, object]]:  # noqa: F811
    """The household of the phone walk-through, set up once in English; each language gets its own context."""
    live_url, db = app_url
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    sign_up_with_long_names(page, live_url)
    factories.make_member(db, household_of(db), "Ben", pin="2468", colour=Colour.rose)
    factories.make_member(db, household_of(db), "Cleo", colour=Colour.amber)
    # The long habit's reminder on Monday, Wednesday and Friday, and an Apprise URL: the Reminders page at its fullest.
    habit = db.exec(select(Habit).where(Habit.id == 1)).one()
    db.add(Reminder(habit_id=habit.id, member_id=habit.member_id, days=0b10101, at="18:00"))
    db.add(AppriseTarget(member_id=habit.member_id, url="ntfys://ntfy.sh/a-topic-only-you-know", language="en"))
    db.commit()
    flip = db.exec(select(Flip).where(Flip.id == 1)).one()
    zone = ZoneInfo(db.exec(select(Household)).one().timezone)
    yield {
        "url": live_url,
        "state": context.storage_state(),
        "flipped_at": flip.flipped_at.replace(tzinfo=UTC),
        "zone": zone,
    }
    context.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[tuple[str, Session]]:
    """One app for the module: each language walks the same household (setting it up takes a while)."""
    import shutil

    from sqlalchemy import create_engine

    from app.config import Settings
    from app.main import create_app
    from tests.conftest import POSTGRES_URL, TEST_SETTINGS, serving

    folder = tmp_path_factory.mktemp("languages")
    if POSTGRES_URL:
        pytest.skip("walked on SQLite: the pages are the same on PostgreSQL")
    shutil.copy(migrated_template, folder / "coinflip.db")
    # Sign-up open, so that its page is there to walk once the household exists.
    settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / 'coinflip.db'}", signup="open", **TEST_SETTINGS
    )
    application = create_app(settings)
    engine = create_engine(settings.db_url)
    with serving(application) as url, Session(engine) as db:
        yield url, db
    engine.dispose()
    application.state.engine.dispose()


@pytest.mark.parametrize("language", list(LOCALES))
def test_every_page_reads_in_the_language_and_fits_a_phone(
    browser: Browser,  # noqa: F811
    lived_in: dict[str, object],
    language: str,
) -> None:
    if language == i18n.PSEUDO:
        catalogs.build_pseudo()
    context = browser.new_context(viewport=PHONE, locale=LOCALES[language], storage_state=lived_in["state"])  # type: ignore[arg-type]
    page = context.new_page()
    english = english_left(language) if language != i18n.PSEUDO else set()
    # The language's own names of days and months (German "Do", Thursday) are not English left over.
    here = Locale.parse(i18n.FORMATS.get(language, "en_GB"))
    own_dates = {
        str(name).strip(".").casefold()
        for names in (here.days, here.months)
        for context in ("format", "stand-alone")
        for width in ("abbreviated", "wide")
        for name in names[context][width].values()
    }
    problems: list[str] = []
    # Logged out first, in a context of its own: the login and sign-up pages (the browser's language decides).
    outside = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    for tab, pages in ((outside.new_page(), LOGGED_OUT), (page, PAGES)):
        for name, path in pages.items():
            look(tab, language, lived_in, name, path, english - own_dates, problems)
    outside.close()
    if language != i18n.PSEUDO:
        page.goto(f"{lived_in['url']}/flips/1")
        local = lived_in["flipped_at"].astimezone(lived_in["zone"])  # type: ignore[union-attr]
        day = dates.format_skeleton("yMMMEd", local, locale=i18n.FORMATS[language])
        shown = page.locator(".verdict time").text_content() or ""
        if day not in shown:
            problems.append(f"flip: the date reads {shown!r}, not {day!r} as {language} writes it")
    context.close()
    assert problems == [], f"{len(problems)} problems in {language}:\n" + "\n".join(problems)


def look(
    page: Page,
    language: str,
    lived_in: dict[str, object],
    name: str,
    path: str,
    english: set[str],
    problems: list[str],
) -> None:
    """One page in the language: its <html lang>, its width, its charts' words and any English left."""
    page.goto(f"{lived_in['url']}{path}")
    if name == "flip":  # its seal line, finished once the page has checked the seal ("; the seal matches")
        page.wait_for_selector("[data-seal-line].matches")
    found = page.evaluate(READ)
    if found["lang"] != LOCALES[language].split("-")[0] and found["lang"] != LOCALES[language]:
        problems.append(f"{name}: <html lang={found['lang']!r}>")
    if found["width"] > PHONE["width"]:
        problems.append(f"{name}: {found['width']} px wide")
    if found["cut"] and language != i18n.PSEUDO:  # the brackets alone make a chart's longest words too long
        problems.append(f"{name}: cut off in a chart (keep it under ~30 characters): {found['cut']}")
    text = " ".join(found["texts"])
    for typed in USER_DATA:
        text = text.replace(typed, " ")
    left = sorted({word for word in words_of(text) if word.casefold() in english})
    if left:
        problems.append(f"{name}: English left: {', '.join(left)}")
    shoot(page, language, name)


def shoot(page: Page, language: str, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"language-{language}-{name}.png", full_page=True)
