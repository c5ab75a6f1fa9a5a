"""Settings: appearance per device, the household's time zone, logged-in devices and revoking them, API tokens."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import security
from app.config import Settings
from app.models import Household, LoginSession
from app.security import digest
from tests import factories
from tests.conftest import Home


@pytest.mark.parametrize("theme", ["light", "dark", "system"])
def test_the_colour_theme_is_remembered_on_this_device(client: TestClient, home: Home, theme: str) -> None:
    assert '<html lang="en" data-theme="system">' in client.get("/").text
    response = client.post("/settings/theme", data={"theme": theme})
    assert response.status_code == 303
    page = client.get("/").text
    assert f'<html lang="en" data-theme="{theme}">' in page
    assert re.search(rf'name="theme" value="{theme}" checked', client.get("/settings").text)


def test_an_unknown_theme_falls_back_to_the_system(client: TestClient, home: Home) -> None:
    client.post("/settings/theme", data={"theme": "neon"})
    assert 'data-theme="system"' in client.get("/").text
    client.cookies.set("coinflip_theme", "<script>")
    assert 'data-theme="system"' in client.get("/").text


def test_devices_are_listed_and_can_be_revoked(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    with TestClient(app, follow_redirects=False, headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604.1"}) as phone:
        token = factories.log_in(phone, db, settings, home.household, home.member)
        page = client.get("/settings").text
        # Each device can be logged out, but this one: the log-out at the end of the page is for it.
        assert '<span class="tag">this device</span>' in page and page.count("Log out<span") == 1
        phone_login = db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).one()
        assert client.post(f"/settings/devices/{phone_login.id}/revoke").status_code == 303
        assert phone.get("/").headers["location"] == "/login"  # logged out on its next request
    assert client.get("/").status_code == 200


def test_device_names_come_from_the_user_agent(client: TestClient, db: Session) -> None:
    from app.security import device_name

    assert device_name("Mozilla/5.0 (Linux; Android 14) AppleWebKit Chrome/126 Mobile Safari") == "Chrome on Android"
    assert (
        device_name("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) AppleWebKit Version/17.5 Safari/604.1")
        == "Safari on iPhone"
    )
    assert device_name("curl/8.0") == "Browser"


def test_the_password_form_names_whose_password_it_is(client: TestClient, home: Home) -> None:
    """A password manager updates the household's saved login instead of saving a nameless new one."""
    page = client.get("/settings").text
    form = page[page.index('action="/settings/password"') : page.index("</form>", page.index("/settings/password"))]
    assert f'name="username" value="{home.household.name}" autocomplete="username"' in form
    assert 'autocomplete="current-password"' in form and 'autocomplete="new-password"' in form


def test_the_time_zone_is_shown_and_changed_in_settings(client: TestClient, db: Session, home: Home) -> None:
    page = client.get("/settings").text
    assert '<option value="UTC" selected>UTC</option>' in page and '<option value="Europe/Berlin">' in page
    response = client.post("/settings/timezone", data={"timezone": "Europe/Berlin"})
    assert response.status_code == 303 and response.headers["location"] == "/settings?zone_saved=true"
    db.commit()
    assert db.get(Household, home.household.id).timezone == "Europe/Berlin"  # type: ignore[union-attr]
    page = client.get(response.headers["location"]).text
    assert "Time zone saved: Europe/Berlin" in page and '<option value="Europe/Berlin" selected>' in page


@pytest.mark.parametrize("zone", ["Nowhere/Special", "", "x" * 65])
def test_an_unknown_time_zone_is_refused_next_to_the_field(
    client: TestClient, db: Session, home: Home, zone: str
) -> None:
    response = client.post("/settings/timezone", data={"timezone": zone})
    assert response.status_code == 422 and 'id="timezone-error"' in response.text
    db.commit()
    assert db.get(Household, home.household.id).timezone == "UTC"  # type: ignore[union-attr]


def test_the_static_script_fills_in_the_browsers_time_zone(client: TestClient) -> None:
    script = client.get("/static/app.js").text
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in script and "data-browser-time-zone" in script


@pytest.mark.parametrize(("theme", "words"), [("dark", "dark"), ("system", "like the system")])
def test_the_appearance_says_it_is_saved(client: TestClient, home: Home, theme: str, words: str) -> None:
    response = client.post("/settings/theme", data={"theme": theme})
    assert response.headers["location"] == "/settings?theme_saved=true"
    page = client.get(response.headers["location"]).text
    assert f'<p class="notice" role="status">Appearance saved on this device: {words}.</p>' in page
    assert "data-save-on-change" in page  # saved on a tap where JavaScript runs; the button is for where it doesn't
    assert 'role="status"' not in client.get("/settings").text


def test_logging_a_device_out_asks_first_and_says_which(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    with TestClient(app, follow_redirects=False) as phone:
        token = factories.log_in(phone, db, settings, home.household, home.member)
    phone_login = db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).one()
    page = client.get("/settings").text
    confirm = f'<form method="post" action="/settings/devices/{phone_login.id}/revoke">'
    assert page.index('<details class="danger">') < page.index(confirm)  # behind a disclosure
    assert "Yes, log out “Browser”" in page
    response = client.post(f"/settings/devices/{phone_login.id}/revoke")
    assert response.headers["location"] == "/settings?logged_out=true"
    said = client.get(response.headers["location"]).text
    assert "The device is logged out: it asks for the household password again." in said
    assert client.post(f"/settings/devices/{phone_login.id}/revoke").status_code == 404  # gone already


def test_each_device_shows_who_uses_it_and_can_be_renamed(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    with TestClient(app, follow_redirects=False) as phone:
        token = factories.log_in(phone, db, settings, home.household, ben)
    phone_login = db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).one()
    page = client.get("/settings").text
    assert "Ben</small>" not in page and "Ben uses it" in page and "Ana uses it" in page
    renamed = client.post(f"/settings/devices/{phone_login.id}/name", data={"device_name": "  Ben's phone "})
    assert renamed.status_code == 303
    assert "Device renamed: “Ben&#39;s phone”." in client.get(renamed.headers["location"]).text
    db.refresh(phone_login)
    assert phone_login.device_name == "Ben's phone"


def test_what_settings_says_after_a_change_comes_from_the_database_not_the_link(
    client: TestClient, db: Session, home: Home
) -> None:
    """Anyone can write a link: it can say a device was renamed (by id: the name shown is the device's own, and
    only the household's own devices), never put words of its own on the page."""
    for link in ("/settings?renamed=Your%20account%20is%20locked", "/settings?logged_out=Call%20this%20number"):
        said = client.get(link).text
        assert "locked" not in said and "Call this number" not in said
    login = db.exec(select(LoginSession).where(LoginSession.household_id == home.household.id)).first()
    assert login is not None
    assert f"Device renamed: “{login.device_name}”." in client.get(f"/settings?renamed={login.id}").text
    other = factories.make_household(db, "Okafor")
    elsewhere = factories.make_member(db, other, "Obi")
    foreign = LoginSession(household_id=other.id or 0, member_id=elsewhere.id, token_hash="f" * 64, device_name="Obi's")
    db.add(foreign)
    db.commit()
    assert "Obi&#39;s" not in client.get(f"/settings?renamed={foreign.id}").text


@pytest.mark.parametrize(("name", "message"), [("", "Please fill this in"), ("x" * 61, "60 characters")])
def test_a_bad_device_name_is_kept_beside_its_message(
    client: TestClient, db: Session, home: Home, name: str, message: str
) -> None:
    login = db.exec(select(LoginSession)).one()
    refused = client.post(f"/settings/devices/{login.id}/name", data={"device_name": name})
    assert refused.status_code == 422
    assert f'id="device-{login.id}-error"' in refused.text and message in refused.text
    assert f'value="{name}"' in refused.text and '<details class="quiet-details" open>' in refused.text
    db.refresh(login)
    assert login.device_name == "Browser"


def test_a_device_of_another_household_is_neither_renamed_nor_logged_out(
    client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    other = factories.make_household(db, "Other")
    factories.make_member(db, other, "Zed")
    token = security.start_login(db, other.id or 0, "pytest")
    db.commit()
    theirs = db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).one()
    assert client.post(f"/settings/devices/{theirs.id}/name", data={"device_name": "Mine"}).status_code == 404
    assert client.post(f"/settings/devices/{theirs.id}/revoke").status_code == 404
    db.refresh(theirs)
    assert theirs.device_name == "Browser"
