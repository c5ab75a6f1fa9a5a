"""Settings: appearance per device, the household's time zone, logged-in devices and revoking them, API tokens."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

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
        assert "(this device)" in page and page.count("Log out<span") == 2
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


def test_logging_a_device_out_says_so(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    with TestClient(app, follow_redirects=False) as phone:
        token = factories.log_in(phone, db, settings, home.household, home.member)
    phone_login = db.exec(select(LoginSession).where(LoginSession.token_hash == digest(token))).one()
    response = client.post(f"/settings/devices/{phone_login.id}/revoke")
    assert response.headers["location"] == "/settings?logged_out=true"
    assert (
        "The device is logged out: it asks for the household password again."
        in client.get(response.headers["location"]).text
    )
