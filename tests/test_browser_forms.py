"""Forms on a phone, in the system Chromium at 390×844: limits counted as they are typed, a message beside a
field that goes once the field is changed, saves that say so, and History filtered by habit."""

import re

import pytest
from playwright.sync_api import Browser, expect

from app import cli
from app.config import Settings
from tests.test_browser import PHONE, browser, new_page, open_reflection, pick, set_up_household, shot  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def test_a_field_counts_its_characters_as_they_are_typed(browser: Browser, live_url: str) -> None:  # noqa: F811
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/habits/new")
    why = page.get_by_label("Why: what is good about the effort itself?")
    count = page.locator("#why-count")
    expect(count).to_have_text("Up to 300 characters.")
    expect(why).to_have_attribute("aria-describedby", "why-hint why-count")
    why.fill("Hills 🏔️")  # an emoji of two code points counts as the server counts it
    expect(count).to_have_text("8 / 300")
    why.fill("x" * 302)  # a paste longer than the limit is not cut: it is said to be too long
    expect(why).to_have_value("x" * 302)
    expect(count).to_have_text("302 / 300 · 2 too many")
    expect(count).to_have_class("count over")
    expect(why).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[aria-live=polite]")).to_have_text("2 characters too many")
    shot(page, "count-over")
    why.fill("x" * 299)
    expect(count).to_have_text("299 / 300")
    expect(why).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("[aria-live=polite]")).to_have_text("1 character left")
    assert problems == [], problems


def test_a_message_beside_a_field_goes_once_the_field_is_changed(browser: Browser, live_url: str) -> None:  # noqa: F811
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/habits/new")
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Emoji").fill("abc")
    page.get_by_role("button", name="Save habit").click()
    expect(page.locator("#name-error")).to_have_text("Please fill this in.")
    expect(page.locator("#emoji-error")).to_contain_text("Please use one emoji")
    expect(page.get_by_label("Emoji")).to_have_value("abc")
    shot(page, "habit-errors")
    page.get_by_label("Name", exact=True).fill("Swim")
    expect(page.locator("#name-error")).to_be_hidden()
    name = page.get_by_label("Name", exact=True)
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", "name-hint name-count")
    expect(page.locator("#emoji-error")).to_be_visible()  # not changed yet: still wrong
    page.get_by_label("Emoji").fill("🏊")
    expect(page.locator("#emoji-error")).to_be_hidden()
    page.get_by_role("button", name="Save habit").click()
    expect(page.get_by_role("heading", name="Swim")).to_be_visible()
    assert problems == [], problems


def test_the_appearance_is_saved_as_soon_as_it_is_picked(browser: Browser, live_url: str) -> None:  # noqa: F811
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/settings")
    expect(page.get_by_role("button", name="Save appearance")).to_be_hidden()  # nothing more to tap
    page.locator("label.pill", has_text="Dark").click()
    expect(page.get_by_role("status")).to_have_text("Appearance saved on this device: dark.")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_label("Dark")).to_be_checked()
    shot(page, "appearance-saved")
    assert problems == [], problems


def test_the_appearance_without_javascript_has_its_button(browser: Browser, live_url: str) -> None:  # noqa: F811
    page, _ = new_page(browser, javascript=False)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/settings")
    page.locator("label.pill", has_text="Dark").click()
    page.get_by_role("button", name="Save appearance").click()
    expect(page.get_by_role("status")).to_have_text("Appearance saved on this device: dark.")


def test_saving_and_deleting_an_enhancer_say_so(browser: Browser, live_url: str) -> None:  # noqa: F811
    page, problems = new_page(browser)
    set_up_household(page, live_url)
    page.goto(f"{live_url}/enhancers")
    page.get_by_role("link", name="Edit Music").click()
    page.get_by_label("Name").fill("Loud music")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Loud music saved.")
    page.get_by_role("link", name="Edit Loud music").click()
    page.get_by_text("Delete Loud music").first.click()
    page.get_by_role("button", name="Delete Loud music").click()
    expect(page.get_by_role("status")).to_contain_text("Enhancer deleted.")
    shot(page, "enhancer-deleted")
    assert problems == [], problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_history_filters_by_habit_and_back_goes_back(
    browser: Browser,  # noqa: F811
    live_url: str,
    settings: Settings,
    scheme: str,
) -> None:
    page, problems = new_page(browser, scheme=scheme)
    set_up_household(page, live_url)
    cli.run(["demo", "--household", "Rivera", "--member", "Ana", "--days", "4", "--seed", "3"], settings)
    page.goto(live_url)
    page.get_by_role("button", name="Flip for Morning run", exact=True).click()
    open_reflection(page)
    for field, value in (("effort", "8"), ("enjoyment", "7"), ("followed", "yes")):
        pick(page, field, value)
    page.locator("textarea[name=note]").fill("The hill again, and I leaned in. " * 60)  # 1,980 characters
    page.get_by_role("button", name="Save reflection").click()
    expect(page.get_by_role("status")).to_contain_text("Reflection saved")
    page.goto(f"{live_url}/history")
    long_note = page.locator(".long-note")
    expect(long_note.locator(".excerpt")).to_be_visible()
    expect(long_note.locator("details blockquote")).to_be_hidden()
    long_note.get_by_text("Read the whole note").click()
    expect(long_note.locator("details blockquote")).to_be_visible()
    expect(long_note.locator(".excerpt")).to_be_hidden()  # the beginning is not shown twice
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, f"{scheme}-history-long-note")
    page.get_by_label("Show the flips of").select_option(label="🏋️ Gym (sample)")
    expect(page).to_have_url(re.compile(r"/history\?habit=\d+$"))  # in the URL: Back and bookmarks keep it
    expect(page.locator(".past h2", has_text="Morning run")).to_have_count(0)
    expect(page.locator(".past h2").first).to_contain_text("Gym (sample)")
    shot(page, f"{scheme}-history-filtered")
    page.locator(".past h2 a").first.click()
    expect(page.locator(".verdict")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/history\?habit=\d+$"))
    expect(page.get_by_label("Show the flips of")).to_have_value(re.compile(r"\d+"))
    expect(page.locator(".past h2").first).to_contain_text("Gym (sample)")
    page.go_back()
    expect(page).to_have_url(f"{live_url}/history")
    expect(page.get_by_label("Show the flips of")).to_have_value("")
    expect(page.locator(".past h2").first).to_contain_text("Morning run")
    assert problems == [], problems


def test_history_filters_without_javascript(browser: Browser, live_url: str, settings: Settings) -> None:  # noqa: F811
    page, _ = new_page(browser, javascript=False)
    set_up_household(page, live_url)
    cli.run(["demo", "--household", "Rivera", "--member", "Ana", "--days", "5", "--seed", "3"], settings)
    page.goto(f"{live_url}/history")
    page.get_by_label("Show the flips of").select_option(label="🏋️ Gym (sample)")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/history\?habit=\d+$"))
    expect(page.locator(".past h2").first).to_contain_text("Gym (sample)")
    assert "Morning run" not in (page.locator("#history").text_content() or "")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_pleasure_is_logged_from_today_in_a_few_taps(browser: Browser, live_url: str, scheme: str) -> None:  # noqa: F811
    """Below the habits, one tap opens it; a chip, a value on each scale, one button. A name typed unpicks the
    chip and a chip tapped empties the typed name, so what is shown is what is logged."""
    page, problems = new_page(browser, scheme=scheme)
    set_up_household(page, live_url)
    check = page.locator("details.pleasure-check")
    expect(check.locator("form")).to_be_hidden()
    check.get_by_role("heading", name="Pleasure check").click()
    form = check.locator("form")
    coffee = form.get_by_role("radio", name="Coffee")
    coffee.check()
    other = form.get_by_label("Something else")
    other.fill("Cold shower")
    expect(coffee).not_to_be_checked()
    coffee.check()
    expect(other).to_have_value("")
    for scale, value in (("enjoyment", "8"), ("craving", "3")):
        group = form.get_by_role(
            "group", name=re.compile(f"^How much did you {'enjoy' if scale == 'enjoyment' else 'crave'}")
        )
        chip = group.get_by_role("radio", name=value, exact=True)  # the chip is its radio button, as big as it
        chip.click()
        expect(chip).to_be_checked()
    form.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status")).to_contain_text("Logged Coffee")
    assert page.url == f"{live_url}/"  # logged in place: Today stays where it was
    expect(check).to_have_attribute("open", "")
    form.get_by_role("radio", name="Sweets").check()  # for the picture, picked (a screenshot leaves style="" on
    form.get_by_role("radio", name="7", exact=True).first.check()  # elements: no htmx swap may follow it)
    shot(page, f"{scheme}-pleasure-check")
    page.goto(f"{live_url}/pleasures")
    expect(page.locator(".list")).to_contain_text("enjoyed 8.0 · craved 3.0")
    assert problems == [], problems
