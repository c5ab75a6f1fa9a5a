"""Throttled logins and PINs, password rules and changes, login expiry, security headers, stored XSS."""

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import security
from app.config import Settings
from app.db import Sql
from app.models import LoginSession
from tests import factories
from tests.conftest import Home

WRONG = {"name": "Rivera", "password": "not the password"}
RIGHT = {"name": "Rivera", "password": factories.PASSWORD}


@pytest.fixture
def visitor(app: FastAPI, db: Session, settings: Settings) -> TestClient:
    """A browser at the login page: a household exists, and the CSRF header is the anonymous one."""
    factories.make_household(db, "Rivera")
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(security.ANON_COOKIE, "anon-test-cookie")
    client.headers[security.CSRF_HEADER] = security.csrf_token(settings.key, "anon-test-cookie")
    return client


@pytest.mark.parametrize("password", ["password", "12345678", "Qwertyuiop", "iloveyou", "coinflip123"])
def test_the_most_common_passwords_are_refused(password: str) -> None:
    assert security.password_problem(password) and "most common" in (security.password_problem(password) or "")


def test_a_long_ordinary_sentence_is_fine() -> None:
    assert security.password_problem("we run on tuesdays") is None


def test_changing_the_password_needs_the_current_one_and_ends_other_logins(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    other = TestClient(app, follow_redirects=False)
    factories.log_in(other, db, settings, home.household, home.member)
    change = {"current": "wrong current pw", "password": "a brand new one", "password_again": "a brand new one"}
    refused = client.post("/settings/password", data=change)
    assert refused.status_code == 422 and 'id="current-error"' in refused.text
    common = client.post(
        "/settings/password",
        data={**change, "current": factories.PASSWORD, "password": "password1", "password_again": "password1"},
    )
    assert common.status_code == 422 and "most common" in common.text
    # As the browser sends it: with the form's hidden username for password managers.
    as_sent = {**change, "current": factories.PASSWORD, "username": home.household.name}
    done = client.post("/settings/password", data=as_sent)
    assert done.status_code == 303 and done.headers["location"] == "/settings?changed=true"
    assert "Password changed" in client.get("/settings?changed=true").text
    assert other.get("/").headers["location"] == "/login"
    db.refresh(home.household)
    assert security.verify_secret("a brand new one", home.household.password_hash)
    assert len(db.exec(select(LoginSession)).all()) == 1


@pytest.mark.parametrize(
    ("field", "age"), [("last_seen_at", security.IDLE_EXPIRY), ("created_at", security.ABSOLUTE_EXPIRY)]
)
def test_logins_expire(client: TestClient, db: Session, home: Home, field: str, age: timedelta) -> None:
    login = db.exec(select(LoginSession)).one()
    setattr(login, field, getattr(login, field) - age - timedelta(minutes=1))
    db.add(login)
    db.commit()
    assert client.get("/").headers["location"] == "/login"


def test_security_headers_on_every_response(client: TestClient, home: Home) -> None:
    for url in ("/", "/login", "/history", "/api/v1/me", "/static/app.css", "/nope", "/healthz", "/docs"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'", "form-action 'self'"):  # fmt: skip
            assert directive in csp, (url, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "same-origin"
        if not url.startswith("/static/"):
            # Private, and never reused from the browser's HTTP cache, but no `no-store`: see the next test.
            assert headers["cache-control"] == "private, no-cache" and "*" in headers["vary"].split(", "), url


def test_logging_in_again_from_a_logged_in_browser_ends_its_previous_login(
    client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    """Otherwise the old login lives on as a device nobody can tell is gone."""
    again = client.post("/login", data={"name": home.household.name, "password": factories.PASSWORD})
    assert again.status_code == 303
    db.commit()
    logins = db.exec(select(LoginSession)).all()
    assert len(logins) == 1 and logins[0].token_hash != security.digest(home.token)
    assert security.find_login(Sql.of(db), home.token) is None
