"""Every page on a phone, 390×844 and 320×640, with the longest names and notes the app takes: nothing wider than
the screen, every control big enough for a thumb, switching person in two taps, and Back that keeps the verdict."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.models import TEXT_MAX, Colour, Enhancer, Habit, Household, Member, PleasureCheck, Reflection
from tests import factories
from tests.test_browser import CHROMIUM, FLAGS, PHONE, SHOTS, new_page, open_reflection, set_up_household

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

SIZES = ({"width": 390, "height": 844}, {"width": 320, "height": 640})
WORD = "Supercalifragilisticexpialidocious"


def unbroken(start: str, length: int = 60) -> str:
    """A name as long as the app takes, with no space to break the line at."""
    return (start + WORD * (length // len(WORD) + 1))[:length]


HOUSEHOLD = unbroken("Household")
MEMBER = unbroken("Member")
ENHANCER = unbroken("Enhancer")
HABIT = unbroken("Habit")
PLEASURE = unbroken("Pleasure")
TOKEN = unbroken("Token")
NOTE = unbroken("Note", 2000)
WHY = unbroken("Why", 300)
PASSWORD = "a good password"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium as on a phone: with the back/forward cache, which Playwright turns off unless told not to."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, ignore_default_args=["--disable-back-forward-cache"]
        )
        yield chromium
        chromium.close()


# What the measures below look at, in the page. A control is what a finger can tap: visible, and not text
# hidden for screen readers. The one exception, as WCAG 2.5.8 makes it too: a link inside a sentence ("Restore
# it to flip it again", "Add your usual boosters: music, …") is as tall as the line it is part of; making it 44 px
# would break the paragraph apart. A link alone in its paragraph, or beside a "·", is a control and is measured.
MEASURE = """() => {
  const visible = (el) => el.checkVisibility({visibilityProperty: true}) && !el.closest(".visually-hidden");
  const blockOf = (el) => {
    let node = el.parentElement;
    while (node && getComputedStyle(node).display.startsWith("inline")) node = node.parentElement;
    return node;
  };
  const inProse = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const block = blockOf(el);
    if (!block || !["P", "LI"].includes(block.tagName)) return false;
    let words = block.textContent;
    for (const link of block.querySelectorAll("a")) words = words.replace(link.textContent, " ");
    return (words.match(/\\p{L}{2,}/gu) || []).length >= 2;
  };
  const describe = (el, box) => {
    const words = (el.textContent || el.value || el.name || "").trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}.${el.className} "${words}" ${Math.round(box.width)}×${Math.round(box.height)}`;
  };
  const small = [];
  for (const el of document.querySelectorAll("a, button, input, select, textarea, summary, [role=button]")) {
    if (el.type === "hidden" || !visible(el) || inProse(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 44 || box.height < 44) small.push(describe(el, box));
  }
  const clipped = [];
  for (const el of document.querySelectorAll("nav, nav *")) {
    if (el.matches("[data-may-shorten], [data-may-shorten] *")) continue;
    if (el.scrollWidth > el.clientWidth + 1) clipped.push(describe(el, el.getBoundingClientRect()));
  }
  return {width: document.scrollingElement.scrollWidth, small, clipped};
}"""


def check(page: Page, name: str, problems: list[str]) -> None:
    """Measure the page as it is and with every disclosure opened; screenshots in light and dark."""
    page.wait_for_load_state()
    size = page.viewport_size
    assert size is not None
    for opened in (False, True):
        if opened:
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        found: dict[str, Any] = page.evaluate(MEASURE)
        where = f"{name} at {size['width']}{' (opened)' if opened else ''}"
        if found["width"] > size["width"]:
            problems.append(f"{where}: {found['width']} px wide")
        problems.extend(f"{where}: under 44×44: {what}" for what in found["small"])
        problems.extend(f"{where}: clipped in the navigation: {what}" for what in found["clipped"])
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = false; })")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for end in ("top", "bottom"):  # what a person sees first, and at the end of the page
            page.evaluate(f"window.scrollTo(0, {0 if end == 'top' else 'document.scrollingElement.scrollHeight'})")
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=SHOTS / f"phone-{size['width']}-{scheme}-{name}-{end}.png")
    page.emulate_media(color_scheme="light")


def sign_up_with_long_names(page: Page, live_url: str) -> None:
    page.goto(live_url)
    page.get_by_label("Household name").fill(HOUSEHOLD)
    page.get_by_label("Household password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Your name").fill(MEMBER)
    page.get_by_role("button", name="Create household").click()
    expect(page.get_by_role("heading", name="Your enhancers")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(ENHANCER)
    page.get_by_role("button", name="Add enhancer").click()
    expect(page.locator(".list")).to_contain_text(ENHANCER)
    for name, why in ((HABIT, WHY), ("Gym", "Strong legs.")):
        page.goto(f"{live_url}/habits/new")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Why: what is good about the effort itself?").fill(why)
        page.get_by_role("button", name="Save habit").click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    for name in (HABIT, "Gym"):
        page.get_by_role("button", name=f"Flip for {name}").click()
        expect(page.locator(f"#habit-{1 if name == HABIT else 2} .verdict")).to_be_visible()
    card = page.locator("#habit-1")
    open_reflection(card)
    for field, value in (("effort", "8"), ("enjoyment", "7"), ("followed", "yes")):
        card.locator(f'label.pill:has(input[name="{field}"][value="{value}"])').click()
    card.locator("textarea[name=note]").fill(NOTE)
    card.get_by_role("button", name="Save reflection").click()
    expect(card).to_contain_text("Reflection saved")
    page.goto(f"{live_url}/pleasures")
    page.get_by_label("Something else").fill(PLEASURE)
    for field, value in (("enjoyment", "6"), ("craving", "8")):
        page.locator(f'label.pill:has(input[name="{field}"][value="{value}"])').click()
    page.get_by_role("button", name="Log it").click()
    expect(page.locator("main")).to_contain_text("Logged")
    page.goto(f"{live_url}/settings")
    page.get_by_label("Name of a new token").fill(TOKEN)
    page.get_by_role("button", name=re.compile("^Create a token")).click()
    expect(page.locator("#new-token")).to_be_visible()


def household_of(db: Session) -> Household:
    db.commit()
    return db.exec(select(Household)).one()


def test_every_page_fits_a_phone_with_the_longest_names(browser: Browser, live_url: str, db: Session) -> None:
    """The Done-means of issue 15, page by page: no sideways scrolling with 60-character unbroken names and a
    2,000-character note, every control at least 44×44, nothing in the navigation cut short. Not /docs: that is
    Swagger UI as it comes, for people writing scripts at a computer, not a page of the app."""
    page, errors = new_page(browser)
    problems: list[str] = []
    for size in SIZES:
        page.set_viewport_size(size)
        page.goto(f"{live_url}/signup")
        check(page, "signup", problems)
    sign_up_with_long_names(page, live_url)
    ben = factories.make_member(db, household_of(db), "Ben", pin="2468", colour=Colour.rose)
    cleo = factories.make_member(db, household_of(db), "Cleo", colour=Colour.amber)
    pages = {
        "today": "/", "flip": "/flips/1", "reflection-edit": "/flips/1/reflection", "history": "/history",
        "insights": "/insights", "insights-habit": "/insights/habits/1", "pleasures": "/pleasures",
        "pleasure": f"/pleasures/{PLEASURE}", "habits": "/habits", "habit-new": "/habits/new",
        "habit-edit": "/habits/1/edit", "enhancers": "/enhancers", "enhancer-edit": "/enhancers/1/edit",
        "members": "/members", "member-new": "/members/new", "member-edit": "/members/1/edit",
        "member-other": f"/members/{cleo.id}/edit", "member-pin": f"/members/{ben.id}/pick",
        "member-forgot-pin": f"/members/{ben.id}/forgot-pin", "settings": "/settings", "not-found": "/nothing-here",
    }  # fmt: skip
    for size in SIZES:
        page.set_viewport_size(size)
        for name, path in pages.items():
            page.goto(live_url + path)
            check(page, name, problems)
    page.goto(f"{live_url}/habits/1/edit")  # reflected on: it can be archived, for the archive's list
    page.get_by_role("button", name=f"Archive {HABIT}").click()
    expect(page.get_by_role("status")).to_contain_text("is archived")
    page.context.clear_cookies()
    page.goto(f"{live_url}/login")
    for size in SIZES:
        page.set_viewport_size(size)
        check(page, "login", problems)
    page.get_by_label("Household name").fill(HOUSEHOLD)
    page.get_by_label("Household password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Who's this?")).to_be_visible()
    for size in SIZES:
        page.set_viewport_size(size)
        check(page, "members-nobody-picked", problems)
    page.get_by_role("button", name=re.compile(MEMBER)).click()
    for size in SIZES:
        page.set_viewport_size(size)
        page.goto(f"{live_url}/habits")
        check(page, "habits-archive", problems)
    assert problems == [], "\n".join(problems)
    assert [e for e in errors if "status of 404" not in e] == [], errors


@pytest.fixture
def two_people(browser: Browser, live_url: str, db: Session) -> Iterator[Page]:
    """Rivera with Ana (logged in on this phone, a morning run flipped and reflected) and Ben, no PIN."""
    page, errors = new_page(browser)
    set_up_household(page, live_url)
    factories.make_member(db, household_of(db), "Ben")
    page.get_by_role("button", name="Flip for Morning run").click()
    open_reflection(page)
    page.locator("textarea[name=note]").fill("Ana's private words.")
    for field, value in (("effort", "8"), ("enjoyment", "7"), ("followed", "yes")):
        page.locator(f'form.reflection label.pill:has(input[name="{field}"][value="{value}"])').click()
    page.get_by_role("button", name="Save reflection").click()
    expect(page.get_by_role("status")).to_contain_text("Reflection saved")
    yield page
    assert errors == [], errors


def switch_to(page: Page, name: str) -> None:
    """Two taps, each on something already on the screen: the person in the navigation, then "I'm <name>"."""
    person = page.get_by_role("link", name=re.compile("^Switch person"))
    expect(person).to_be_in_viewport()
    person.click()
    me = page.get_by_role("button", name=f"I'm {name}")  # a member with a PIN is a link, to the PIN
    me = me.or_(page.get_by_role("link", name=re.compile(f"^I'm {name}\\b")))
    expect(me).to_be_in_viewport()
    me.click()


@pytest.mark.parametrize("size", SIZES, ids=("390", "320"))
def test_switching_person_takes_two_taps_from_any_page(two_people: Page, live_url: str, size: dict[str, int]) -> None:
    page = two_people
    page.set_viewport_size(size)
    paths = ["/", "/flips/1", "/history", "/insights", "/insights/habits/1", "/pleasures", "/habits",
             "/habits/1/edit", "/enhancers", "/members", "/members/new", "/members/1/edit", "/settings"]  # fmt: skip
    for path in paths:
        page.goto(live_url + path)
        page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")  # the thumb is at the bottom
        switch_to(page, "Ben")
        expect(page.get_by_role("link", name=re.compile("^Switch person")), path).to_contain_text("Ben")
        assert page.url == f"{live_url}/", path
        switch_to(page, "Ana")
        expect(page.get_by_role("heading", name="Morning run")).to_be_visible()


def test_a_pin_is_the_only_thing_after_the_two_taps(two_people: Page, live_url: str, db: Session) -> None:
    page = two_people
    factories.make_member(db, household_of(db), "Cleo", pin="2468")
    page.goto(f"{live_url}/history")
    switch_to(page, "Cleo")
    page.get_by_label("PIN").fill("2468")  # four digits are the whole answer: no button to find after them
    expect(page.get_by_role("link", name=re.compile("^Switch person"))).to_contain_text("Cleo")


def test_back_after_a_flip_shows_the_verdict_without_asking_the_server(two_people: Page, live_url: str) -> None:
    page = two_people
    page.goto(f"{live_url}/habits/new")
    page.get_by_label("Name", exact=True).fill("Piano")
    page.get_by_role("button", name="Save habit").click()
    page.get_by_role("button", name="Flip for Piano").click()
    verdict = page.locator("#habit-2 .verdict")
    expect(verdict).to_be_visible()
    words = verdict.text_content()
    page.evaluate("addEventListener('pageshow', (event) => { window.restored = event.persisted; })")
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.go_back(wait_until="commit")  # a page from the back/forward cache has no load event to wait for
    expect(verdict).to_have_text(words or "")
    assert page.evaluate("window.restored") is True  # the very page, from the back/forward cache
    assert [url for url in asked if not url.startswith(f"{live_url}/static/")] == [], asked


def test_back_after_switching_person_never_shows_the_last_persons_page(two_people: Page, live_url: str) -> None:
    """A page kept for Back belongs to whoever was picked when it was shown: after a switch (or a log-out) it is
    asked for again, so Ben's Back button doesn't open Ana's journal."""
    page = two_people
    page.goto(f"{live_url}/history")
    expect(page.locator("main")).to_contain_text("Ana's private words.")
    switch_to(page, "Ben")
    page.evaluate("history.go(-2)")  # past "who's this?", to Ana's history
    expect(page).to_have_url(f"{live_url}/history")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Ana's private words.")
    expect(page.get_by_role("link", name=re.compile("^Switch person"))).to_contain_text("Ben")


def test_a_deep_link_comes_back_after_logging_in(browser: Browser, live_url: str) -> None:
    page, errors = new_page(browser)
    set_up_household(page, live_url)
    page.context.clear_cookies()
    page.goto(f"{live_url}/insights")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("main")).to_contain_text("flip a coin")  # what the app is, before the password
    page.get_by_label("Household name").fill("Rivera")
    page.get_by_label("Household password").fill("a good password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="I'm Ana").click()
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    assert page.url == f"{live_url}/insights"
    assert errors == [], errors


def shots(page: Page, name: str, part: str = "main") -> None:
    """A part of the page in light and dark, for a person to look at."""
    SHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    assert size is not None
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        page.locator(part).screenshot(path=SHOTS / f"phone-{size['width']}-{scheme}-{name}.png")
    page.emulate_media(color_scheme="light")


def test_a_device_is_renamed_and_logged_out_after_asking(
    browser: Browser, two_people: Page, live_url: str, db: Session
) -> None:
    """Two phones that both call themselves "Chrome on Linux": one is renamed, so they can be told apart, and
    logging it out asks first, then says which one went."""
    page = two_people
    page.set_viewport_size(SIZES[1])
    other, _ = new_page(browser)
    other.goto(f"{live_url}/login")
    other.get_by_label("Household name").fill("Rivera")
    other.get_by_label("Household password").fill(PASSWORD)
    other.get_by_role("button", name="Log in").click()
    other.get_by_role("button", name="I'm Ben").click()
    page.goto(f"{live_url}/settings")
    ben_device = page.locator(".devices li", has_text="Ben uses it")
    ben_device.locator("summary", has_text="Rename").click()
    ben_device.get_by_label("New name").fill("")
    ben_device.get_by_role("button", name="Save name").click()
    expect(page.locator(".devices .error")).to_contain_text("Please fill this in")
    ben_device.get_by_label("New name").fill("Ben's phone")
    ben_device.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_have_text("Device renamed: “Ben's phone”.")
    phone = page.locator(".devices li", has_text="Ben's phone")
    expect(phone).to_contain_text("Ben uses it")
    phone.locator("summary", has_text="Log out").click()
    confirm = phone.get_by_role("button", name="Yes, log out “Ben's phone”")
    expect(confirm).to_be_visible()
    shots(page, "settings-devices", ".card:has(.devices)")
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("The device is logged out")
    expect(page.locator(".devices")).not_to_contain_text("Ben's phone")
    expect(page.locator(".devices li")).to_have_count(1)
    other.goto(f"{live_url}/")
    expect(other.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_member_is_deleted_after_a_confirmation_naming_what_goes(two_people: Page, live_url: str) -> None:
    page = two_people
    page.set_viewport_size(SIZES[1])
    page.goto(f"{live_url}/members/1/edit")
    page.get_by_text("Delete Ana…").click()
    confirm = page.get_by_role("button", name="Yes, delete Ana and all of this")
    expect(page.locator(".delete-member")).to_contain_text("1 habit")
    expect(page.locator(".delete-member")).to_contain_text("1 reflection")
    shots(page, "member-delete")
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("The member is deleted")
    expect(page.get_by_role("button", name="I'm Ben")).to_be_visible()
    expect(page.get_by_role("button", name="I'm Ana")).to_have_count(0)


# Each chart's text as drawn on the screen (its font size times the SVG's scale), where it ends, and its bars.
CHARTS = """() => Array.from(document.querySelectorAll(".chart svg"), (svg) => ({
  scale: svg.getScreenCTM().a,
  texts: Array.from(svg.querySelectorAll("text"), (t) => ({
    words: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a,
    left: t.getBoundingClientRect().left, right: t.getBoundingClientRect().right,
  })),
  bars: Array.from(svg.querySelectorAll("rect.bar"), (r) => r.getBoundingClientRect().width),
}))"""


def test_charts_read_on_a_small_phone(browser: Browser, live_url: str, db: Session) -> None:
    """At 320×640: every word and number of every chart is 14 px or more and stays on the screen, and a single
    week of stacking load is a bar of a sensible width, not the whole chart."""
    page, errors = new_page(browser)
    page.set_viewport_size(SIZES[1])
    set_up_household(page, live_url)
    habit = db.exec(select(Habit)).one()
    monday = datetime.now(UTC) - timedelta(days=datetime.now(UTC).weekday())  # one week, whatever the day
    for hours, allowed in ((1, True), (2, False), (3, True), (4, False)):
        factories.make_flip(db, habit, "heads" if allowed else "tails", {"Music": (2, allowed)}, (7, 8, "yes"),
                            at=monday.replace(hour=hours))  # fmt: skip
    for day in range(4):
        db.add(PleasureCheck(member_id=habit.member_id, name="Chocolate", enjoyment=6 + day, craving=8 - day,
                             logged_at=monday - timedelta(days=day)))  # fmt: skip
    db.commit()
    measured = {}
    for path in ("/insights", f"/insights/habits/{habit.id}", "/pleasures/Chocolate"):
        page.goto(live_url + path)
        measured[path] = page.evaluate(CHARTS)
        shots(page, "charts-" + path.strip("/").replace("/", "-"))
    load = measured["/insights"][0]
    assert len(load["bars"]) == 1 and 20 <= load["bars"][0] <= 48, load["bars"]
    texts = [(path, t) for path, charts in measured.items() for chart in charts for t in chart["texts"]]
    assert len(texts) > 20 and {path for path, _ in texts} == set(measured)
    small = [(path, t["words"], round(t["px"], 1)) for path, t in texts if t["px"] < 14]
    assert small == [], small
    off = [(path, t["words"]) for path, t in texts if t["left"] < 0 or t["right"] > 320]
    assert off == [], off


# A "why" and a low-day version as long as people write them, in words (the "why" as long as the app takes).
LONG_WHY = (
    "Because the last kilometre is where I learn that I can keep going when it hurts, and that feeling stays "
    "with me all day at work, with the kids, and on the days when nothing else goes right. " * 2
)[:TEXT_MAX].rsplit(" ", 1)[0]
LONG_MINIMUM = "Put the shoes on, walk to the end of the street and back, and stretch for five minutes at the door."
# On Today before a workout: with three habits, one flipped and waiting for its reflection, one reflected at length
# and one still to flip; with five, one flipped and four still to flip.
FIRST_SCREENS = 2


def fill_today(db: Session, habits: int) -> None:
    member = db.exec(select(Member).where(Member.name == "Ana")).one()
    music = db.exec(select(Enhancer).where(Enhancer.name == "Music")).one()
    run = db.exec(select(Habit).where(Habit.name == "Morning run")).one()
    run.why, run.minimum = LONG_WHY, LONG_MINIMUM
    db.add(run)
    db.commit()
    every = [run] + [
        factories.make_habit(db, member, name, [music]) for name in ("Gym", "Piano", "Stretching", "Swim")[: habits - 1]
    ]
    for habit in every[1:]:
        habit.why, habit.minimum = LONG_WHY, LONG_MINIMUM
        db.add(habit)
    db.commit()
    factories.make_flip(db, run, "heads", {"Music": (2, True)})
    if habits == 3:
        reflected = factories.make_flip(db, every[1], "tails", {"Music": (2, False)}, reflection=(8, 7, "yes"))
        note = db.exec(select(Reflection).where(Reflection.flip_id == reflected.id)).one()
        note.note = NOTE
        db.add(note)
        db.commit()


@pytest.mark.parametrize("habits", [3, 5])
def test_every_habits_flip_is_in_the_first_two_screens(
    browser: Browser, live_url: str, db: Session, habits: int
) -> None:
    """Today at 390×844, the page opened seconds before a workout: each habit's Flip button, or the heading of
    its verdict, ends within the first two screens (less the tab bar over the bottom of each)."""
    page, errors = new_page(browser)
    set_up_household(page, live_url)
    fill_today(db, habits)
    page.goto(live_url)
    ends: list[dict[str, Any]] = page.evaluate("""() => [...document.querySelectorAll("article.habit")].map((card) => {
      const target = card.querySelector(".flip-button, .coin-word");
      return {habit: card.querySelector("h2").textContent, bottom: target.getBoundingClientRect().bottom + scrollY};
    })""")
    tabs = page.locator("nav.tabs").bounding_box()
    assert tabs is not None
    limit = FIRST_SCREENS * PHONE["height"] - tabs["height"]
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / f"today-{habits}-habits-{scheme}.png", full_page=True)
    assert len(ends) == habits
    assert [end for end in ends if end["bottom"] > limit] == [], f"below {limit} px: {ends}"
    assert errors == [], errors


def test_the_set_up_words_stay_whole_in_every_language(browser: Browser, live_url: str) -> None:
    """Habits, Enhancers and Settings at the top, in each language, on a 320, 360 and 390 px phone: each word on
    one line, never broken in the middle ("Habit/s" at 360 px before), and nothing wider than the screen."""
    page = browser.new_page(viewport=SIZES[0])
    page.goto(live_url)
    page.get_by_label("Household name").fill("Rivera")
    page.get_by_label("Household password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Your name").fill("Ana")
    page.get_by_role("button", name="Create household").click()
    expect(page.locator("nav.setup")).to_be_visible()
    problems = []
    for language in ("en", "de", "es", "fr"):
        page.set_extra_http_headers({"Accept-Language": language})
        for width in (320, 360, 390):
            page.set_viewport_size({"width": width, "height": 640})
            page.goto(f"{live_url}/settings")
            expect(page.locator("html")).to_have_attribute("lang", language)
            found = page.evaluate("""() => ({
              lines: [...document.querySelectorAll('nav.setup a > span')].map((word) => {
                const text = document.createRange(); text.selectNodeContents(word.firstChild);
                const tops = [...text.getClientRects()].map((r) => Math.round(r.top));
                return [word.textContent.trim(), new Set(tops).size];
              }),
              width: document.scrollingElement.scrollWidth})""")
            problems += [f"{language} at {width}: {word!r} on {n} lines" for word, n in found["lines"] if n != 1]
            if found["width"] > width:
                problems.append(f"{language} at {width}: {found['width']} px wide")
    assert problems == []
