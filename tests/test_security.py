"""Throttled logins and PINs, password rules and changes, login expiry, security headers, stored XSS."""

import logging
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import security
from app.config import Settings
from app.models import LoginSession, Throttle
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


def age_failures(db: Session, by: timedelta) -> None:
    """Move every recorded failure back in time, instead of waiting."""
    db.commit()
    for row in db.exec(select(Throttle)).all():
        row.last_failure_at -= by
        db.add(row)
    db.commit()


def test_logins_are_throttled_with_growing_delays(visitor: TestClient, db: Session) -> None:
    for _ in range(security.FREE_FAILURES):
        assert visitor.post("/login", data=WRONG).status_code == 422
    assert visitor.post("/login", data=WRONG).status_code == 429  # the sixth try is not even checked
    throttled = visitor.post("/login", data=RIGHT)
    assert throttled.status_code == 429 and "Too many tries" in throttled.text and 'value="Rivera"' in throttled.text
    age_failures(db, timedelta(seconds=3))
    assert visitor.post("/login", data=WRONG).status_code == 422  # the wait is over: checked (and wrong)
    age_failures(db, timedelta(seconds=3))
    assert visitor.post("/login", data=WRONG).status_code == 429  # the next wait is longer than 3 seconds
    age_failures(db, timedelta(seconds=5))
    assert visitor.post("/login", data=RIGHT).status_code == 303  # never a permanent lock-out


def test_the_waits_double_up_to_a_cap() -> None:
    waits = [security.wait_for(n).total_seconds() for n in range(4, 20)]
    assert waits[:5] == [0, 2, 4, 8, 16]
    assert max(waits) == security.MAX_WAIT.total_seconds() and waits == sorted(waits)


def test_a_quiet_hour_forgives_the_failures(visitor: TestClient, db: Session) -> None:
    for _ in range(security.FREE_FAILURES + 1):
        visitor.post("/login", data=WRONG)
    age_failures(db, security.FORGIVEN_AFTER)
    assert visitor.post("/login", data=RIGHT).status_code == 303


def test_throttling_counts_per_client_address_too(app: FastAPI, db: Session, visitor: TestClient) -> None:
    factories.make_household(db, "Okafor")
    for name in ("Nobody", "Somebody", "Anybody", "Okafor", "Whoever", "Rivera"):
        visitor.post("/login", data={"name": name, "password": "wrong password"})
    keys = {row.key: row.failures for row in db.exec(select(Throttle))}
    assert keys["login-ip:testclient"] == 6 and keys["login:okafor"] == 1
    for i in range(security.FREE_FAILURES_PER_ADDRESS):
        visitor.post("/login", data={"name": f"Guess {i}", "password": "wrong password"})
    assert visitor.post("/login", data=RIGHT).status_code == 429  # this address is slowed down now
    # From another address the household can still log in: one router's neighbour cannot lock it out.
    with TestClient(app, client=("198.51.100.4", 1000), follow_redirects=False) as elsewhere:
        elsewhere.cookies.set(security.ANON_COOKIE, "anon-test-cookie")
        elsewhere.headers[security.CSRF_HEADER] = visitor.headers[security.CSRF_HEADER]
        assert elsewhere.post("/login", data=RIGHT).status_code == 303


def test_failures_are_logged_in_one_line_for_fail2ban(visitor: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="coinflip.security"):
        visitor.post("/login", data=WRONG)
    assert caplog.messages == ["coinflip: login for 'rivera' failed from testclient"]


def test_an_unknown_household_costs_a_password_check_too(visitor: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real_verify = security.hasher.verify
    monkeypatch.setattr(security.hasher, "verify", lambda pw, h: checked.append(h) or real_verify(pw, h))
    visitor.post("/login", data={"name": "Nobody", "password": "whatever you like"})
    assert checked == [security.DUMMY_HASH]


def test_pins_are_throttled_too(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben", pin="2468")
    for _ in range(security.FREE_FAILURES):
        assert client.post(f"/members/{ben.id}/pick", data={"pin": "0000"}).status_code == 422
    assert client.post(f"/members/{ben.id}/pick", data={"pin": "2468"}).status_code == 429
    age_failures(db, timedelta(seconds=3))
    assert client.post(f"/members/{ben.id}/pick", data={"pin": "2468"}).status_code == 303


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
            assert headers["cache-control"] == "no-store", url
