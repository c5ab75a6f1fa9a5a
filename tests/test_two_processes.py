"""Two real uvicorn processes on one database behave as one app: logins and open flips are shared."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import Server


@pytest.fixture
def two_servers(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    servers = [Server(settings, tmp_path) for _ in range(2)]
    yield servers[0].url, servers[1].url
    for server in servers:
        server.stop()


def csrf(client: httpx.Client, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(url).text)
    assert match, url
    return match.group(1)


def test_a_login_and_an_open_flip_are_the_same_on_both(two_servers: tuple[str, str]) -> None:
    one, two = two_servers
    with httpx.Client(timeout=30) as browser:
        signup = {"name": "Rivera", "password": "long enough pw", "password_again": "long enough pw", "member": "Ana"}
        assert (
            browser.post(f"{one}/signup", data={**signup, "csrf_token": csrf(browser, f"{one}/signup")}).status_code
            == 303
        )
        # The cookie from process one logs in on process two (same host, another port: cookies don't care).
        assert browser.get(f"{two}/enhancers").status_code == 200
        token = csrf(browser, f"{two}/enhancers")
        browser.post(f"{two}/enhancers", data={"name": "Music", "csrf_token": token})
        browser.post(f"{one}/habits", data={"name": "Run", "enhancer_ids": "1", "csrf_token": token})
        first = browser.post(f"{one}/habits/1/flips", data={"csrf_token": token})
        assert first.status_code == 303
        second = browser.post(f"{two}/habits/1/flips", data={"csrf_token": token})
        assert second.headers["location"] == first.headers["location"]  # the open flip, not a new draw
        verdict_one = re.search(r'<h3 class="coin-word">(\w+)</h3>', browser.get(f"{one}/").text)
        verdict_two = re.search(r'<h3 class="coin-word">(\w+)</h3>', browser.get(f"{two}/").text)
        assert verdict_one and verdict_two and verdict_one.group(1) == verdict_two.group(1)
        login = browser.cookies["coinflip_login"]
        assert browser.post(f"{two}/logout", data={"csrf_token": token}).status_code == 303
        browser.cookies.set("coinflip_login", login)  # a copied cookie is dead on the other process too
        assert browser.get(f"{one}/").headers["location"] == "/login"
