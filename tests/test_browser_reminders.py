"""Reminders on a phone at 390×844: days and a time set with the thumb and seen saved, nothing wider than the
screen; plain HTTP says that push needs HTTPS and points to Apprise. Screenshots in light and dark."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_browser import CHROMIUM, FLAGS, SHOTS, new_page, set_up_household
from tests.test_browser_phone import MEASURE

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

LAN = "MAP nas.lan 127.0.0.1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # "nas.lan" is the test's server too, as a household's LAN address would be (see the last test).
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, f"--host-resolver-rules={LAN}"])
        yield chromium
        chromium.close()


def screenshots(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        page.screenshot(path=SHOTS / f"reminders-390-{scheme}-{name}.png", full_page=True)
    page.emulate_media(color_scheme="light")


def fits(page: Page) -> None:
    """Nothing wider than the phone, every control big enough for a thumb (tests/test_browser_phone.py's measure)."""
    found: dict[str, Any] = page.evaluate(MEASURE)
    assert found["width"] <= 390
    assert found["small"] == []


def test_a_reminder_is_set_with_days_and_a_time_and_seen_saved(browser: Browser, live_url: str) -> None:
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/reminders")
    card = page.locator("#reminder-1")
    expect(card).to_contain_text("Off.")
    for day in ("Mon", "Wed", "Fri"):
        card.locator("label.pill", has_text=day).click()
    card.get_by_label("Time").fill("18:30")
    card.get_by_role("button", name="Save reminder for Morning run").click()
    status = page.locator("#reminder-1 [role=status]")
    expect(status).to_have_text("Saved: Morning run, Mon, Wed and Fri at 18:30.")
    expect(page.locator("#reminder-1 .reminder-state")).to_contain_text("On: Mon, Wed and Fri at 18:30")
    expect(card.locator('input[value="wed"]')).to_be_checked()
    expect(card.locator('input[value="tue"]')).not_to_be_checked()
    # The page is served over plain HTTP on 127.0.0.1, which browsers count as secure: the button is offered.
    expect(page.get_by_role("button", name="Turn on notifications on this device")).to_be_visible()
    fits(page)
    screenshots(page, "saved")
    # The service worker the button registers loads, with the push handlers of static/sw-push.js.
    registered = page.evaluate("""async () => {
      const registration = await navigator.serviceWorker.register("/sw.js", {scope: "/"});
      await navigator.serviceWorker.ready;
      return registration.active.scriptURL;
    }""")
    assert registered.endswith("/sw.js")
    # A mistake is said beside its field, the days ticked kept.
    card = page.locator("#reminder-1")
    for day in ("Mon", "Wed", "Fri"):
        card.locator("label.pill", has_text=day).click()
    card.get_by_role("button", name="Save reminder for Morning run").click()
    expect(page.locator("#h1-days-error")).to_have_text("Pick at least one day, or turn the reminder off.")
    expect(page.locator("#reminder-1 input[name=time]")).to_have_value("18:30")
    page.get_by_label("Apprise URL").fill("not a url")
    page.get_by_role("button", name="Add URL").click()
    expect(page.locator("#url-error")).to_contain_text("Apprise doesn't recognise this URL")
    expect(page.get_by_label("Apprise URL")).to_have_value("not a url")
    fits(page)
    screenshots(page, "errors")
    # An Apprise URL nobody answers at: its test says so beside it, in plain words.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    page.get_by_label("Apprise URL").fill(f"json://127.0.0.1:{port}/a-long-path-that-holds-a-secret-token-0123456789")
    page.get_by_role("button", name="Add URL").click()
    page.get_by_role("button", name="Send a test to json://127.0.0.1/…").click()
    expect(page.get_by_role("alert")).to_contain_text(": the connection was refused.")
    expect(page.locator("main")).not_to_contain_text("secret-token")
    fits(page)
    screenshots(page, "apprise-failed")
    assert problems == []


def test_on_plain_http_the_page_says_push_needs_https(browser: Browser, live_url: str) -> None:
    """A LAN address over plain HTTP is not a secure context (127.0.0.1 and localhost are): no button, and the
    page points to Apprise."""
    lan_url = live_url.replace("127.0.0.1", "nas.lan")
    page, problems = new_page(browser)
    set_up_household(page, lan_url)
    page.goto(f"{lan_url}/reminders")
    assert page.evaluate("window.isSecureContext") is False
    expect(page.get_by_text("Notifications on this device need a secure address")).to_be_visible()
    expect(page.locator("[data-push-subscribe]")).to_be_hidden()
    screenshots(page, "plain-http")
    assert problems == []


def test_what_the_button_says_is_in_the_pages_language(browser: Browser, live_url: str) -> None:
    """static/app.js takes its words from the page (base.html's #words): a German page's button answers in German
    when the browser doesn't allow notifications."""
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.set_extra_http_headers({"Accept-Language": "de"})
    page.goto(f"{live_url}/reminders")
    assert page.evaluate("Notification.permission") != "granted"
    page.get_by_role("button", name="Benachrichtigungen auf diesem Gerät einschalten").click()
    expect(page.locator("[data-push-status]")).to_have_text(
        "Dieser Browser erlaubt für diese Seite keine Benachrichtigungen. Erlaube sie in seinen Einstellungen für "
        "diese Seite und versuch es dann noch einmal."
    )
    expect(page.get_by_role("button", name="Benachrichtigungen auf diesem Gerät einschalten")).to_be_enabled()
    assert problems == []
