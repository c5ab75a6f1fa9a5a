"""What a person does on a phone, in the system Chromium at 390×844: with JavaScript, and without."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.config import Settings

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("COINFLIP_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def new_page(
    browser: Browser, *, javascript: bool = True, timezone: str = "UTC", scheme: str = "light"
) -> tuple[Page, list[str]]:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=javascript, reduced_motion="reduce", timezone_id=timezone,
        color_scheme=scheme,  # type: ignore[arg-type]
    )  # fmt: skip
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A form sent back with its errors (422) or a conflict (409) is expected; nothing else logged as an error.
        if message.type == "error" and "status of 422" not in message.text and "status of 409" not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def pick(page: Page, name: str, value: str) -> None:
    """A value of the reflection form (the pleasure check on Today has an "enjoyment" too)."""
    page.locator(f'form.reflection label.pill:has(input[name="{name}"][value="{value}"])').click()


def set_up_household(page: Page, live_url: str) -> None:
    page.goto(live_url)
    expect(page.get_by_role("heading", name="Welcome to Coinflip")).to_be_visible()
    page.get_by_label("Household name").fill("Rivera")
    page.get_by_label("Household password").fill("a good password")
    page.get_by_label("Password again").fill("a good password")
    page.get_by_label("Your name").fill("Ana")
    page.get_by_role("button", name="Create household").click()
    expect(page.get_by_role("heading", name="Your enhancers")).to_be_visible()
    page.get_by_role("button", name="+ Music").click()
    expect(page.locator(".list")).to_contain_text("Music")
    page.get_by_role("link", name="Next: add a habit →").click()
    page.get_by_label("Name", exact=True).fill("Morning run")
    page.get_by_label("Why: what is good about the effort itself?").fill("The hills make me strong.")
    expect(page.get_by_label("Music")).to_be_checked()
    page.get_by_role("button", name="Save habit").click()
    expect(page.get_by_role("heading", name="Morning run")).to_be_visible()


def open_reflection(where: Page | Locator) -> None:
    """On Today a flip's reflection form waits behind a disclosure, so as not to push the next habit down."""
    where.locator("details.reflect:not([open]) > summary").first.click()


def reflect(page: Page) -> None:
    """Reflect on Today's first open flip."""
    open_reflection(page)
    pick(page, "effort", "8")
    pick(page, "enjoyment", "7")
    pick(page, "followed", "yes")
    page.locator("textarea[name=note]").fill("The last hill: I leaned in.")
    page.get_by_role("button", name="Save reflection").click()


@pytest.mark.on_postgres_too
def test_flip_and_reflect_on_a_phone(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    shot(page, "today")
    page.get_by_role("button", name="Flip for Morning run").click()
    verdict = page.locator(".verdict")
    expect(verdict).to_be_visible()
    assert page.url == f"{live_url}/"  # swapped in place by htmx, no navigation
    words = verdict.text_content() or ""
    assert re.search(r"Heads|Tails", words) and "Music" in words
    shot(page, "verdict")
    page.reload()
    expect(page.locator(".verdict")).to_have_text(words)  # the verdict is final
    expect(page.get_by_role("button", name="Flip for Morning run")).to_have_count(0)
    reflect(page)
    expect(page.get_by_role("status")).to_contain_text("Reflection saved")
    # The reflection closes the flip, not the session: no Flip button until the next one.
    expect(page.locator(".next-flip")).to_contain_text("Next flip of Morning run from midnight tonight")
    expect(page.get_by_role("button", name="Flip for Morning run")).to_have_count(0)
    expect(page.locator(".verdict")).to_have_text(words)
    shot(page, "reflected")
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.locator(".past")).to_contain_text("The last hill: I leaned in.")
    expect(page.locator(".past")).to_contain_text("Effort 8/10")
    shot(page, "history")
    page.go_back()
    expect(page.get_by_role("heading", name="Morning run")).to_be_visible()
    assert problems == [], problems  # no script errors and no CSP violations


def test_the_page_checks_the_seal_of_a_flip(browser: Browser, live_url: str) -> None:
    """Opening "Check that this flip is fair" remakes the seal with Web Crypto (the test server, 127.0.0.1, is a
    secure context) and says in words whether it matches; a verdict altered in the page does not; where Web Crypto
    is missing (plain http on a home network), the page says so and keeps the command."""
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()  # the verdict swapped in by htmx
    fairness = page.locator(".fairness")
    said = fairness.locator("[data-seal-check]")
    fairness.locator("summary").click()
    expect(said).to_have_text("The seal matches: this is the very verdict drawn when the coin fell.")
    expect(fairness).to_contain_text("sha256sum")
    for width, scheme in ((390, "light"), (320, "dark")):
        page.set_viewport_size({"width": width, "height": 640})
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        fairness.screenshot(path=str(SHOTS / f"seal-matches-{width}-{scheme}.png"))
    page.emulate_media(color_scheme="light")
    page.reload()
    page.evaluate("document.querySelector('[data-sealed]').textContent = 'heads|Music=yes|0000'")
    fairness.locator("summary").click()
    expect(said).to_contain_text("The seal does not match")
    page.add_init_script("Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})")
    page.reload()
    fairness.locator("summary").click()
    expect(said).to_contain_text("only over a secure connection (https), and this one is plain http")
    expect(fairness).to_contain_text("sha256sum")
    assert problems == [], problems


def test_a_token_is_shown_once_and_copied_with_one_tap(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/settings")
    page.get_by_label("Name of a new token").fill("Watch shortcut")
    page.get_by_role("button", name="Create a token for Ana").click()
    token = page.locator("#new-token").text_content() or ""
    assert token.startswith("cf_")
    shot(page, "token-shown-once")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.reload()  # shown no more, and no second token made
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("#tokens li")).to_have_count(1)
    expect(page.locator("#tokens li")).to_contain_text("Watch shortcut")
    page.get_by_role("button", name="Revoke Watch shortcut").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked")
    assert problems == [], problems


def test_skip_asks_once_and_can_be_undone_with_the_same_verdict(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()
    words = page.locator(".verdict").text_content() or ""
    skip = page.get_by_role("button", name="Yes, skip today for Morning run")
    expect(skip).to_be_hidden()  # behind its question: one mis-tap doesn't skip
    page.get_by_text("Not today? Skip this session").click()
    expect(page.get_by_text("Skip today? The coin's verdict stays in history.")).to_be_visible()
    shot(page, "skip-question")
    skip.click()
    expect(page.get_by_role("status")).to_contain_text("Skipped. The coin's verdict stays in your history.")
    page.reload()
    expect(page.locator(".verdict")).to_have_text(words)
    expect(page.get_by_role("button", name="Flip for Morning run")).to_have_count(0)
    expect(page.locator(".next-flip")).to_contain_text("from midnight tonight")
    shot(page, "skipped")
    page.get_by_role("button", name="Undo skip of Morning run").click()
    expect(page.get_by_text("After your session: reflect")).to_be_visible()  # open again: it can be reflected on
    page.reload()
    expect(page.locator(".verdict")).to_have_text(words)  # the same flip, the same verdict: nothing drawn
    expect(page.get_by_role("button", name="Flip for Morning run")).to_have_count(0)
    assert problems == [], problems


def test_the_household_takes_the_phones_time_zone_at_sign_up(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser, timezone="Pacific/Auckland")
    set_up_household(page, live_url)
    page.goto(f"{live_url}/settings")
    expect(page.get_by_label("Time zone")).to_have_value("Pacific/Auckland")
    shot(page, "settings")
    assert problems == [], problems


@pytest.mark.on_postgres_too
def test_a_save_from_an_older_tab_keeps_the_typed_words(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()
    open_reflection(page)
    expect(page.get_by_role("heading", name="After your session")).to_be_visible()
    other = page.context.new_page()  # a second tab, logged in the same
    other.goto(live_url)
    reflect(other)
    expect(other.get_by_role("status")).to_contain_text("Reflection saved")
    pick(page, "effort", "4")
    pick(page, "enjoyment", "5")
    pick(page, "followed", "partly")
    page.locator("textarea[name=note]").fill("Words typed in the first tab.")
    page.get_by_role("button", name="Save reflection").click()
    expect(page.get_by_role("alert")).to_contain_text("saved from another tab or phone")
    expect(page.locator(".reflection-done")).to_contain_text("The last hill: I leaned in.")
    expect(page.locator("textarea[name=note]")).to_have_value("Words typed in the first tab.")
    shot(page, "reflection-conflict")
    page.get_by_role("link", name="Keep the saved one").click()
    expect(page.locator("textarea[name=note]")).to_have_count(0)
    expect(page.locator(".reflection-done")).to_contain_text("The last hill: I leaned in.")
    assert problems == [], problems


def test_a_form_error_keeps_the_typed_text(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()
    open_reflection(page)
    page.locator("textarea[name=note]").fill("Half a reflection I don't want to lose.")
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator("#effort-error")).to_have_text("Please fill this in.")
    expect(page.locator("textarea[name=note]")).to_have_value("Half a reflection I don't want to lose.")
    shot(page, "reflection-error")
    assert problems == [], problems


def test_the_same_flow_without_javascript(browser: Browser, live_url: str) -> None:
    page, _ = new_page(browser, javascript=False)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()
    expect(page).to_have_url(re.compile(r"/flips/\d+$"))
    words = page.locator(".verdict").text_content() or ""
    page.reload()
    expect(page.locator(".verdict")).to_have_text(words)
    page.goto(live_url)
    expect(page.locator(".verdict")).to_have_text(words)
    reflect(page)
    expect(page).to_have_url(re.compile(r"/flips/\d+$"))
    expect(page.locator(".reflection-done")).to_contain_text("The last hill: I leaned in.")
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.locator(".past")).to_contain_text("The last hill: I leaned in.")


def test_no_page_breaks_the_content_security_policy(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.get_by_role("button", name="Flip for Morning run").click()
    expect(page.locator(".verdict")).to_be_visible()
    paths = ["/", "/history", "/habits", "/habits/new", "/habits/1/edit", "/enhancers", "/enhancers/1/edit",
             "/members", "/members/new", "/members/1/edit", "/settings", "/flips/1", "/nothing-here"]  # fmt: skip
    for path in paths:
        page.goto(live_url + path)
        expect(page.locator("main")).to_be_visible()
    page.goto(live_url + "/history")
    page.get_by_role("navigation").get_by_role("link", name="Today").click()
    reflect(page)
    expect(page.get_by_role("status")).to_contain_text("Reflection saved")
    unexpected = [p for p in problems if "status of 404" not in p]  # /nothing-here is a 404 on purpose
    assert unexpected == [], unexpected
    assert not [p for p in problems if "Content Security Policy" in p]


def test_the_api_docs_work_offline_under_the_policy(browser: Browser, live_url: str) -> None:
    """/docs is Swagger UI from the app's own static files: a household's LAN may have no internet."""
    page, problems = new_page(browser)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_url + "/docs")
    expect(page.get_by_role("heading", name=re.compile("^Coinflip"))).to_be_visible()
    flip = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/habits/\{habit_id\}/flips$"))
    flip.first.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    shot(page, "api-docs")
    assert requested and all(url.startswith(live_url + "/") for url in requested), requested
    assert problems == [], problems  # no script errors and no CSP violations


def test_the_insights_of_sample_history_read_well_on_a_phone(
    browser: Browser, live_url: str, settings: Settings
) -> None:
    """Sixty days from `coinflip demo`: every chart drawn, the audit in words, nothing wider than the phone."""
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    cli.run(["demo", "--household", "Rivera", "--member", "Ana", "--days", "60", "--seed", "7"], settings)
    for name, shot_name in (("Morning run (sample)", "insights-one-coin"), ("Gym (sample)", "insights-each-coin")):
        page.goto(f"{live_url}/insights")
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name="Flip audit")).to_be_visible()
        expect(page.locator(".audit-verdict")).to_contain_text(re.compile("looks fair|unusual"))
        assert page.locator("figure.chart svg").count() >= 4
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        shot(page, shot_name)
    page.goto(f"{live_url}/insights")
    expect(page.locator("figure.chart")).to_contain_text("Weekly stacking load")
    shot(page, "insights")
    assert problems == [], problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_state_of_a_session_fits_a_phone(
    browser: Browser, live_url: str, settings: Settings, scheme: str
) -> None:
    """Open, skipped, reflected; the habit form, the archive, Settings and the audit: screenshots in light
    and dark, and nothing wider than the phone."""
    page, problems = new_page(browser, scheme=scheme)
    set_up_household(page, live_url)
    cli.run(["demo", "--household", "Rivera", "--member", "Ana", "--days", "30", "--seed", "2"], settings)

    def look(name: str) -> None:
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        shot(page, f"{scheme}-{name}")

    def card(name: str) -> Locator:
        return page.locator("article.habit", has=page.get_by_role("heading", name=name, exact=True))

    page.goto(live_url)
    for name in ("Morning run", "Morning run (sample)", "Gym (sample)"):
        page.get_by_role("button", name=f"Flip for {name}", exact=True).click()
        expect(card(name).locator(".verdict")).to_be_visible()
    card("Gym (sample)").get_by_text("Not today? Skip this session").click()
    look("today-open")
    page.get_by_role("button", name="Yes, skip today for Gym (sample)").click()
    expect(card("Gym (sample)")).to_contain_text("Skipped.")
    run = card("Morning run")
    open_reflection(run)
    for field, value in (("effort", "8"), ("enjoyment", "7"), ("followed", "yes")):
        run.locator(f'label.pill:has(input[name="{field}"][value="{value}"])').click()
    run.get_by_role("button", name="Save reflection").click()
    expect(run).to_contain_text("Reflection saved")
    look("today-closed")
    page.goto(f"{live_url}/habits/1/edit")
    look("habit-form")
    page.goto(f"{live_url}/habits/new")
    look("habit-new")
    page.goto(f"{live_url}/habits")
    page.goto(f"{live_url}/habits/3/edit")
    page.get_by_role("button", name="Archive Gym (sample)").click()
    expect(page.get_by_role("status")).to_contain_text("Gym (sample) is archived")
    look("habits-archive")
    page.goto(f"{live_url}/settings")
    look("settings")
    page.goto(f"{live_url}/insights/habits/3")
    look("insights-habit")
    assert problems == [], problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_member_and_pin_pages_fit_a_phone(browser: Browser, live_url: str, settings: Settings, scheme: str) -> None:
    """Who's this, a member's own form with a PIN, someone else's, the PIN page and forgetting a PIN: light and
    dark, nothing wider than the phone."""
    page, problems = new_page(browser, scheme=scheme)
    set_up_household(page, live_url)
    cli.run(["member", "add", "--household", "Rivera", "Ben"], settings)

    def look(name: str) -> None:
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        shot(page, f"{scheme}-{name}")

    page.goto(f"{live_url}/members/1/edit")
    page.get_by_label("PIN", exact=False).first.fill("1357")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("PIN saved")
    look("members-pin-saved")
    page.goto(f"{live_url}/members/1/edit")
    expect(page.get_by_label("Current PIN")).to_be_visible()
    look("member-own-form")
    page.goto(f"{live_url}/members/2/edit")
    expect(page.get_by_text("Only Ben can set a PIN")).to_be_visible()
    look("member-other-form")
    page.goto(f"{live_url}/members/1/pick")
    expect(page.get_by_role("link", name="Forgot the PIN?")).to_be_visible()
    look("member-pin")
    page.get_by_role("link", name="Forgot the PIN?").click()
    page.get_by_label("Password of Rivera").fill("not the password")
    page.get_by_role("button", name="Remove the PIN").click()
    expect(page.locator("#password-error")).to_be_visible()
    look("member-forgot-pin")
    assert problems == [], problems
