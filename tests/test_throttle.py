"""Who may try what: passwords and PINs slow down per (account, address), per account only past a much higher
threshold, a device that knew the secret before is never locked out, the count is one atomic step across
processes, and hashes run outside any lock, a few at once."""

import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import security, throttle
from app.config import Settings
from app.models import Throttle
from tests import factories
from tests.conftest import Home, Server, serving

WRONG = {"name": "Rivera", "password": "not the password"}
RIGHT = {"name": "Rivera", "password": factories.PASSWORD}
FREE = throttle.FREE_PER_PLACE


def browser(app: FastAPI, settings: Settings, address: str = "testclient") -> TestClient:
    """A browser at the login page, from this address, with the CSRF header its anonymous cookie needs."""
    client = TestClient(app, client=(address, 1000), follow_redirects=False)
    client.cookies.set(security.ANON_COOKIE, f"anon-{address}")
    client.headers[security.CSRF_HEADER] = security.csrf_token(settings.key, f"anon-{address}")
    return client


@pytest.fixture
def rivera(db: Session) -> None:
    factories.make_household(db, "Rivera")


def age_tries(db: Session, by: timedelta) -> None:
    """Move every counted try back in time, instead of waiting."""
    db.commit()
    for row in db.exec(select(Throttle)).all():
        row.last_failure_at -= by
        db.add(row)
    db.commit()


def test_logins_slow_down_with_growing_delays(app: FastAPI, db: Session, settings: Settings, rivera: None) -> None:
    visitor = browser(app, settings)
    for _ in range(FREE):
        assert visitor.post("/login", data=WRONG).status_code == 422
    assert visitor.post("/login", data=WRONG).status_code == 429  # the sixth try is not even checked
    throttled = visitor.post("/login", data=RIGHT)
    # 2 seconds from the last try; "a second" if this request came more than one after it (a busy machine)
    assert throttled.status_code == 429 and re.search(
        r"Please wait (2 seconds|a second), then try again", throttled.text
    )
    assert 'value="Rivera"' in throttled.text
    age_tries(db, timedelta(seconds=3))
    assert visitor.post("/login", data=WRONG).status_code == 422  # the wait is over: checked (and wrong)
    age_tries(db, timedelta(seconds=3))
    assert visitor.post("/login", data=WRONG).status_code == 429  # the next wait is longer than 3 seconds
    age_tries(db, timedelta(seconds=5))
    assert visitor.post("/login", data=RIGHT).status_code == 303  # never a permanent lock-out


def test_the_waits_double_up_to_a_cap() -> None:
    waits = [throttle.wait_for(n, FREE).total_seconds() for n in range(4, 20)]
    assert waits[:5] == [0, 2, 4, 8, 16]
    assert max(waits) == throttle.MAX_WAIT.total_seconds() and waits == sorted(waits)
    assert throttle.in_words(1) == "a second" and throttle.in_words(900) == "15 minutes"


def test_a_quiet_hour_forgives_the_tries(app: FastAPI, db: Session, settings: Settings, rivera: None) -> None:
    visitor = browser(app, settings)
    for _ in range(FREE + 1):
        visitor.post("/login", data=WRONG)
    age_tries(db, throttle.FORGIVEN_AFTER)
    assert visitor.post("/login", data=RIGHT).status_code == 303
    assert db.exec(select(Throttle)).all() == []  # forgotten, not only forgiven: the table doesn't grow


def test_a_stranger_cannot_lock_the_household_out(app: FastAPI, settings: Settings, rivera: None) -> None:
    stranger = browser(app, settings, "203.0.113.66")
    for _ in range(FREE + 3):
        stranger.post("/login", data=WRONG)
    assert stranger.post("/login", data=RIGHT).status_code == 429  # the stranger's own place waits
    assert browser(app, settings, "198.51.100.4").post("/login", data=RIGHT).status_code == 303


def test_guesses_from_everywhere_slow_the_account_but_never_a_device_that_logged_in_before(
    app: FastAPI, settings: Settings, rivera: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(throttle.FREE_PER_ACCOUNT, "login", 6)  # 100 in production: fewer hashes in a test
    phone = browser(app, settings, "198.51.100.4")
    assert phone.post("/login", data=RIGHT).status_code == 303
    assert throttle.DEVICE_COOKIE in phone.cookies
    phone.cookies.delete(security.LOGIN_COOKIE)  # logged out since
    for i in range(6):  # a botnet: one guess from each of many addresses
        assert browser(app, settings, f"203.0.113.{i}").post("/login", data=WRONG).status_code == 422
    assert browser(app, settings, "192.0.2.1").post("/login", data=RIGHT).status_code == 429
    assert phone.post("/login", data=RIGHT).status_code == 303  # the household's own phone: still in


def test_pins_are_throttled_and_the_members_own_phone_is_never_locked_out(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home
) -> None:
    ben = factories.make_member(db, home.household, "Ben", pin="2468")
    bens_phone = TestClient(app, follow_redirects=False)  # behind the same router as the family tablet
    factories.log_in(bens_phone, db, settings, home.household, None)
    assert bens_phone.post(f"/members/{ben.id}/pick", data={"pin": "2468"}).status_code == 303
    assert bens_phone.post(f"/members/{home.member.id}/pick").status_code == 303  # lent to Ana for a moment
    for _ in range(FREE):  # the tablet guesses at Ben's PIN
        assert client.post(f"/members/{ben.id}/pick", data={"pin": "0000"}).status_code == 422
    throttled = client.post(f"/members/{ben.id}/pick", data={"pin": "2468"})
    assert throttled.status_code == 429 and "Too many tries" in throttled.text
    assert bens_phone.post(f"/members/{ben.id}/pick", data={"pin": "2468"}).status_code == 303
    age_tries(db, timedelta(seconds=3))
    assert client.post(f"/members/{ben.id}/pick", data={"pin": "2468"}).status_code == 303


def test_failures_are_logged_in_one_line_for_fail2ban(
    app: FastAPI, settings: Settings, rivera: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="coinflip.security"):
        browser(app, settings).post("/login", data=WRONG)
    assert caplog.messages == ["coinflip: login for 'rivera' failed from testclient"]


def test_an_unknown_household_costs_a_password_check_too(
    app: FastAPI, settings: Settings, rivera: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real_verify = security.hasher.verify
    monkeypatch.setattr(security.hasher, "verify", lambda pw, h: checked.append(h) or real_verify(pw, h))
    browser(app, settings).post("/login", data={"name": "Nobody", "password": "whatever you like"})
    assert checked == [security.dummy_hash()]


def test_a_burst_on_two_processes_gets_exactly_the_free_tries_checked(
    db: Session, settings: Settings, tmp_path: Path, rivera: None
) -> None:
    """Each try is counted before its hash is checked, in one locked step: a parallel burst can't slip in
    between another try's check and its count (on PostgreSQL 23 of 30 were checked, not 5)."""
    server = Server(settings, tmp_path, workers=2)
    anon = "anon-burst"
    headers = {security.CSRF_HEADER: security.csrf_token(settings.key, anon)}
    try:
        with httpx.Client(base_url=server.url, cookies={security.ANON_COOKIE: anon}, timeout=60) as http:

            def guess(_: int) -> int:
                return http.post("/login", data=WRONG, headers=headers).status_code

            # All at once: each is counted within moments, long before the first wait (2 s) is over.
            with ThreadPoolExecutor(max_workers=30) as pool:
                answers = list(pool.map(guess, range(30)))
    finally:
        server.stop()
    assert sorted(answers) == [422] * FREE + [429] * (30 - FREE), str(answers)


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app on a real server with its lifespan: the hash slots are there."""
    with serving(app, lifespan="on") as url:
        yield url


class HeldHashes:
    """Password checks that wait, inside the hash, until the test lets each one go."""

    def __init__(self) -> None:
        self.active = self.most = self.done = 0
        self.changed = threading.Condition()
        self.go = threading.Semaphore(0)

    def verify(self, password: str, hashed: str) -> bool:
        with self.changed:
            self.active += 1
            self.most = max(self.most, self.active)
            self.changed.notify_all()
        self.go.acquire(timeout=30)
        with self.changed:
            self.active -= 1
            self.done += 1
            self.changed.notify_all()
        return False

    def wait_until(self, condition: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout=30)


def test_a_password_check_holds_no_lock_a_flip_needs(
    served: str, db: Session, settings: Settings, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldHashes()
    monkeypatch.setattr(security.hasher, "verify", held.verify)
    habit = factories.make_flippable_habit(db, home.member)
    member_headers = {security.CSRF_HEADER: factories.csrf_for(settings, home.token)}
    anon = "anon-flood"
    with (
        httpx.Client(base_url=served, cookies={security.ANON_COOKIE: anon}, timeout=30) as stranger,
        httpx.Client(base_url=served, cookies={security.LOGIN_COOKIE: home.token}, timeout=30) as member,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        login = pool.submit(
            stranger.post, "/login", data=WRONG, headers={security.CSRF_HEADER: security.csrf_token(settings.key, anon)}
        )
        held.wait_until(lambda: held.active == 1)
        # The hash is running (and would for as long as it likes): the flip goes through meanwhile.
        flipped = member.post(f"/habits/{habit.id}/flips", headers=member_headers)
        assert flipped.status_code in (200, 303)
        held.go.release()
        assert login.result().status_code == 422


def test_at_most_a_few_hashes_run_at_once(served: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    held = HeldHashes()
    monkeypatch.setattr(security.hasher, "verify", held.verify)
    anon = "anon-many"
    headers = {security.CSRF_HEADER: security.csrf_token(settings.key, anon)}
    tries = 6
    with (
        httpx.Client(base_url=served, cookies={security.ANON_COOKIE: anon}, timeout=30) as http,
        ThreadPoolExecutor(max_workers=tries) as pool,
    ):
        answers = [
            pool.submit(http.post, "/login", data={"name": f"Nobody {i}", "password": "guess"}, headers=headers)
            for i in range(tries)
        ]
        for i in range(tries):
            running = min(throttle.HASHES_AT_ONCE, tries - i)
            held.wait_until(lambda running=running: held.active >= running)  # type: ignore[misc]
            held.go.release()
            held.wait_until(lambda i=i: held.done > i)  # type: ignore[misc]
        assert [answer.result().status_code for answer in answers] == [422] * tries
    assert held.most == throttle.HASHES_AT_ONCE


def test_a_planted_device_cookie_is_never_adopted(app: FastAPI, settings: Settings, rivera: None) -> None:
    """Found by probing: a device id the server never gave out was made "known" by a right password, so whoever
    planted it could lock that browser out by guessing with the same id."""
    victim = browser(app, settings, "198.51.100.4")
    victim.cookies.set(throttle.DEVICE_COOKIE, "planted-by-attacker")
    logged_in = victim.post("/login", data=RIGHT)
    given = logged_in.cookies.get(throttle.DEVICE_COOKIE)
    assert logged_in.status_code == 303 and given and given != "planted-by-attacker"
    for i in range(FREE + 2):
        attacker = browser(app, settings, f"203.0.113.{i}")
        attacker.cookies.set(throttle.DEVICE_COOKIE, "planted-by-attacker")
        attacker.post("/login", data=WRONG)
    later = browser(app, settings, "198.51.100.4")
    later.cookies.set(throttle.DEVICE_COOKIE, given)
    assert later.post("/login", data=RIGHT).status_code == 303


def test_a_logged_in_device_is_not_locked_out_of_its_own_settings(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strangers' guesses at the household's login from everywhere: a device already logged in (from before
    device cookies, say) can still change the password."""
    monkeypatch.setitem(throttle.FREE_PER_ACCOUNT, "login", 3)
    for i in range(4):
        browser(app, settings, f"203.0.113.{i}").post("/login", data=WRONG)
    change = {"current": factories.PASSWORD, "password": "a brand new one", "password_again": "a brand new one"}
    assert client.post("/settings/password", data=change).status_code == 303
