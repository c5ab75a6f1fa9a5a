"""No signal at the gym, in the system Chromium at 390×844: the installed app opens Today offline, Flip reveals the
sealed verdict on the phone, a reflection is written offline, and both reach the server once the phone is back
online; the seal's commitment is on the card before the tap, and a reveal of another verdict is refused."""

import random
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select

from app import security
from app.deps import get_rng
from app.models import Flip, Habit, Mode, Reflection, Seal, SealEnhancer
from tests import factories
from tests.test_browser import CHROMIUM, FLAGS, PHONE, SHOTS

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

# Today is kept by the service worker once it has been seen through it (as the installed app does every day).
TODAY_KEPT = """async () => {
  for (const name of await caches.keys()) if (await (await caches.open(name)).match("/")) return true;
  return false;
}"""
SENT = """async () => {
  const kept = await (await caches.open("outbox")).match("/outbox");
  return Boolean(kept) && (await kept.text()) === "[]";
}"""
TODAY_DROPPED = """async () => {
  for (const name of await caches.keys()) if (await (await caches.open(name)).match("/")) return false;
  return true;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def phone(
    browser: Browser, live_url: str, db: Session, habit: Habit, locale: str = "en-GB"
) -> tuple[BrowserContext, Page, list[str]]:
    """A phone logged in to the household with the habit's member picked (as after the login and the PIN)."""
    context = browser.new_context(viewport=PHONE, reduced_motion="reduce", timezone_id="UTC", locale=locale)
    token = security.start_login(db, 1, "Playwright", habit.member_id)
    db.commit()
    context.add_cookies([{"name": security.LOGIN_COOKIE, "value": token, "url": live_url}])
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    return context, page, problems


def shots(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        page.screenshot(path=str(SHOTS / f"{name}-{scheme}.png"))
    page.emulate_media(color_scheme="light")


def wait_until(page: Page, condition: str) -> None:
    """Ask the page until `condition` (an async function) holds: for what the service worker does out of sight."""
    for _ in range(5000):
        if page.evaluate(condition):
            return
    raise AssertionError(f"never true: {condition}")


def pick(page: Page, name: str, value: str) -> None:
    page.locator(f'form.reflection label.pill:has(input[name="{name}"][value="{value}"])').click()


@pytest.mark.on_postgres_too
def test_a_flip_revealed_and_reflected_on_with_no_signal_reaches_the_server(
    browser: Browser, app: FastAPI, live_url: str, db: Session
) -> None:
    rng = random.Random(16)  # one coin for the run: each seal a new draw, as in production
    app.dependency_overrides[get_rng] = lambda: rng
    household = factories.make_household(db)
    member = factories.make_member(db, household)
    enhancers = [factories.make_enhancer(db, member, name) for name in ("Music", "Coffee")]
    habit = factories.make_habit(db, member, "Morning run", enhancers, mode=Mode.each)
    context, page, problems = phone(browser, live_url, db, habit)
    card = page.locator(f"#habit-{habit.id}")

    page.goto(live_url)  # installs the service worker, which takes this page in at once
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    db.expire_all()
    seal = db.exec(select(Seal).where(Seal.habit_id == habit.id)).one()
    sealed = [(e.name, e.allowed) for e in db.exec(select(SealEnhancer).where(SealEnhancer.seal_id == seal.id))]
    coin_word = seal.coin.value.capitalize()
    kept = (seal.commitment, seal.coin, seal.sealed_at)  # the session may load the next seal into this object
    page.reload()  # seen through the worker: kept for offline use
    wait_until(page, TODAY_KEPT)
    sealed_at = f"{seal.sealed_at:%H:%M}"
    expect(card.locator(".seal-note")).to_contain_text(f"Drawn and sealed at {sealed_at} · {seal.commitment[:8]}…")
    expect(card).not_to_contain_text(coin_word)  # before the tap the verdict is nowhere on screen
    expect(page.locator("main")).not_to_contain_text("Comes along")
    shots(page, "offline-1-sealed-card")

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("status").filter(has_text="No signal")).to_have_text(
        "No signal: your flip still works and will be sent when you’re back online."
    )
    shots(page, "offline-2-no-signal")
    page.get_by_role("button", name="Flip for Morning run").click()
    verdict = card.locator(".verdict")
    expect(verdict.locator(".coin-word")).to_have_text(coin_word)
    for name, allowed in sealed:
        expect(verdict.locator(f".enhancers.{'yes' if allowed else 'no'}")).to_contain_text(name)
    expect(verdict.locator(".seal-line")).to_contain_text(f"as {seal.commitment[:4]}…; revealed at ")
    expect(verdict.locator(".seal-line")).to_contain_text("; the seal matches")
    pick(page, "effort", "8")
    pick(page, "enjoyment", "7")
    pick(page, "followed", "yes")
    page.locator("form.reflection textarea[name=note]").fill("The last flight of stairs: I leaned in.")
    page.get_by_role("button", name="Save reflection").click()
    expect(card).to_contain_text("Reflection saved on this phone")
    shots(page, "offline-3-revealed")
    page.reload()  # still offline: the revealed verdict stays, never a second Flip
    expect(card.locator(".coin-word")).to_have_text(coin_word)
    expect(page.get_by_role("button", name="Flip for Morning run")).to_have_count(0)

    context.set_offline(False)  # back online: sent, and the server's own card comes back with the same verdict
    expect(card.locator(".reflection-done")).to_contain_text("Effort 8/10")
    expect(card.locator(".coin-word")).to_have_text(coin_word)
    expect(card.locator(".seal-line")).to_contain_text("; the seal matches")
    shots(page, "offline-4-sent")
    db.expire_all()
    [flip] = db.exec(select(Flip).where(Flip.habit_id == habit.id)).all()
    assert (flip.commitment, flip.coin, flip.sealed_at) == kept
    reflection = db.get(Reflection, flip.id)
    assert reflection is not None and reflection.note == "The last flight of stairs: I leaned in."

    other, second, _ = phone(browser, live_url, db, habit)  # the member's other phone sees the same
    second.goto(live_url)
    expect(second.locator(f"#habit-{habit.id} .coin-word")).to_have_text(coin_word)
    expect(second.locator(f"#habit-{habit.id}")).to_contain_text("The last flight of stairs: I leaned in.")
    seal_line = second.locator(f"#habit-{habit.id} .seal-line")
    expect(seal_line).to_contain_text("; the seal matches")
    second.evaluate("""() => {  // a verdict altered after sealing: the line says so
      const card = document.querySelector("article.habit");
      card.querySelector("[data-sealed]").textContent = "tails|Music=no|Coffee=no|0";
      delete card.querySelector("[data-seal-line]").dataset.checked;
      finishSealLines(document);
    }""")
    expect(seal_line).to_contain_text("; the seal does NOT match: this verdict was changed after it was sealed")
    other.close()

    # A reveal of the next seal with another verdict is refused; the seal stays the habit's next one.
    db.expire_all()
    following = db.exec(select(Seal).where(Seal.habit_id == habit.id)).one()
    assert following.commitment != kept[0]
    names = db.exec(select(SealEnhancer).where(SealEnhancer.seal_id == following.id).order_by(col(SealEnhancer.id)))
    tampered = {"commitment": following.commitment, "coin": "heads" if following.coin.value != "heads" else "tails",
                "enhancers": [{"name": e.name, "allowed": not e.allowed} for e in names],
                "revealed_at": "2026-11-24T07:15:00Z"}  # fmt: skip
    status = page.evaluate(
        """async ([url, body]) => (await fetch(url, {method: "POST", body: JSON.stringify(body), headers: {
             "Content-Type": "application/json",
             "X-CSRF-Token": JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]}})).status""",
        [f"/api/v1/habits/{habit.id}/flips", tampered],
    )
    assert status == 422
    db.expire_all()
    assert db.exec(select(Seal).where(Seal.habit_id == habit.id)).one().commitment == following.commitment

    # Logged out, this phone no longer opens anyone's Today offline: the next person sees the offline page.
    page.goto(f"{live_url}/members")
    page.locator("details.log-out > summary").click()
    page.get_by_role("button", name="Yes, log this device out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    wait_until(page, TODAY_DROPPED)
    context.set_offline(True)
    page.goto(live_url)
    expect(page.get_by_role("heading", name="No signal")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Morning run")
    context.close()
    assert problems == [], problems


def test_a_german_phone_hears_about_no_signal_in_german(
    browser: Browser, app: FastAPI, live_url: str, db: Session
) -> None:
    """The offline notice, the verdict revealed on the phone and its seal line, and the page for a page not kept:
    in the phone's language, with no server to ask."""
    household = factories.make_household(db)
    member = factories.make_member(db, household)
    habit = factories.make_habit(db, member, "Morgenlauf", [factories.make_enhancer(db, member, "Musik")])
    context, page, problems = phone(browser, live_url, db, habit, locale="de-DE")
    card = page.locator(f"#habit-{habit.id}")
    page.goto(live_url)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()
    wait_until(page, TODAY_KEPT)
    expect(card.locator(".seal-note")).to_contain_text("Gezogen und versiegelt um ")
    shots(page, "offline-de-1-sealed-card")

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("status")).to_have_text(
        "Kein Netz: Dein Münzwurf klappt trotzdem und wird gesendet, sobald du wieder online bist."
    )
    card.locator("form[data-reveal] button[type=submit]").click()
    line = card.locator(".verdict .seal-line")
    expect(line).to_contain_text("Versiegelt um ")
    expect(line).to_contain_text("; aufgedeckt um ")
    expect(line).to_contain_text("; das Siegel passt")
    expect(card).to_contain_text("Auf diesem Handy gespeichert, bis es gesendet werden kann: Das Ergebnis steht fest.")
    shots(page, "offline-de-2-revealed")
    page.goto(f"{live_url}/history")  # never opened here: the page for a page not kept, in German too
    expect(page.locator("h1")).to_have_text("Kein Netz")
    assert page.locator("html").get_attribute("lang") == "de"
    context.set_offline(False)
    page.goto(live_url)  # back online (the page sends the flip; Chromium's worker may still see no network)
    wait_until(page, SENT)
    context.close()
    assert problems == []
    # Sent: the server's own verdict, on another phone, its seal line in German as well.
    context, page, problems = phone(browser, live_url, db, habit, locale="de-DE")
    db.expire_all()
    [flip] = db.exec(select(Flip).where(Flip.habit_id == habit.id)).all()
    page.goto(f"{live_url}/flips/{flip.id}")
    sent = page.locator("[data-seal-line]")
    expect(sent).to_contain_text("Versiegelt um ")
    expect(sent).to_contain_text("; das Siegel passt")
    shots(page, "offline-de-3-sent")
    context.close()
    assert problems == []


def test_background_sync_sends_the_flip_with_the_app_closed(
    browser: Browser, app: FastAPI, live_url: str, db: Session
) -> None:
    """Revealed and reflected on offline, then the app is closed: once the phone has signal again, the service
    worker's Background Sync sends both, with no page of the app open."""
    rng = random.Random(17)
    app.dependency_overrides[get_rng] = lambda: rng
    member = factories.make_member(db, factories.make_household(db))
    habit = factories.make_habit(db, member, "Morning run", [factories.make_enhancer(db, member, "Music")])
    context, page, problems = phone(browser, live_url, db, habit)
    page.goto(live_url)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()
    wait_until(page, TODAY_KEPT)
    context.set_offline(True)
    page.get_by_role("button", name="Flip for Morning run").click()
    coin_word = page.locator(".coin-word").text_content()
    pick(page, "effort", "6")
    pick(page, "enjoyment", "9")
    pick(page, "followed", "partly")
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator(f"#habit-{habit.id}")).to_contain_text("Reflection saved on this phone")
    page.close()  # the app is closed

    context.set_offline(False)
    blank = context.new_page()  # not the app: only a way to ask Chromium for the sync event
    cdp = context.new_cdp_session(blank)
    registrations: list[dict[str, str]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(200):  # the registrations come as events, after enable's answer: wait for them
        if registrations:
            break
        blank.evaluate("0")
    [registration] = [r for r in registrations if r["scopeURL"] == f"{live_url}/" and not r.get("isDeleted")]
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live_url, "registrationId": registration["registrationId"],
                                                 "tag": "coinflip-outbox", "lastChance": False})  # fmt: skip
    other, second, _ = phone(browser, live_url, db, habit)
    second.goto(f"{live_url}/history")
    reflected = "async () => (await (await fetch('/api/v1/flips')).json()).some((f) => f.reflection?.effort === 6)"
    wait_until(second, reflected)
    second.reload()
    expect(second.locator(".past")).to_contain_text((coin_word or "?").lower())
    expect(second.locator(".past")).to_contain_text("Effort 6/10")
    db.expire_all()
    [flip] = db.exec(select(Flip).where(Flip.habit_id == habit.id)).all()
    assert flip.coin.value.capitalize() == coin_word
    other.close()
    context.close()
    assert problems == [], problems
