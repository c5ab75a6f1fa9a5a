"""Networks people really have: plain HTTP on the LAN, HTTPS behind a proxy, and a sub-path."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import cli
from app.config import Settings
from app.main import create_app
from tests import factories
from tests.test_auth import csrf_of

SIGNUP = {"name": "Rivera", "password": "long enough pw", "password_again": "long enough pw", "member": "Ana"}
URL_ATTRIBUTES = {"href", "src", "action", "hx-get", "hx-post", "hx-put", "hx-delete"}


def sign_up(client: TestClient, prefix: str = "") -> str:
    """Set up a household through the form; returns the login's Set-Cookie header."""
    page = client.get(f"{prefix}/signup")
    response = client.post(f"{prefix}/signup", data={**SIGNUP, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_plain_http_on_the_lan(client: TestClient) -> None:
    page = client.get("/signup")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("coinflip_anon=") and "secure" not in cookie.lower()
    assert "strict-transport-security" not in page.headers
    sign_up(client)
    assert client.get("/").status_code == 200


def test_behind_a_trusted_https_proxy(settings: Settings) -> None:
    app = create_app(settings)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with TestClient(app, client=("127.0.0.1", 40000), follow_redirects=False) as proxied:
        page = proxied.get("/signup", headers=forwarded)
        assert page.headers["set-cookie"].startswith("__Host-coinflip_anon=")
        assert "Secure" in page.headers["set-cookie"] and "Path=/" in page.headers["set-cookie"]
        assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_forwarded_headers_from_untrusted_addresses_are_ignored(settings: Settings) -> None:
    app = create_app(settings)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with TestClient(app, client=("198.51.100.7", 40000), follow_redirects=False) as stranger:
        page = stranger.get("/signup", headers=forwarded)
        assert page.headers["set-cookie"].startswith("coinflip_anon=")
        assert "strict-transport-security" not in page.headers


def test_the_whole_flow_over_https_uses_prefixed_secure_cookies(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://home.example", follow_redirects=False) as browser:
        sign_up(browser)
        assert set(browser.cookies.keys()) >= {"__Host-coinflip_login", "__Host-coinflip_anon"}
        assert browser.get("/").status_code == 200
        assert (
            browser.post("/logout", headers={"X-CSRF-Token": csrf_of(browser.get("/settings").text)}).status_code == 303
        )
        assert browser.get("/").headers["location"] == "/login"


class Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in URL_ATTRIBUTES and value]


def urls_in(html: str) -> list[str]:
    parser = Urls()
    parser.feed(html)
    return parser.found


@pytest.fixture
def under_subpath(settings: Settings) -> Iterator[TestClient]:
    config = settings.model_copy(update={"public_url": "https://home.example/coinflip/"})
    with TestClient(create_app(config), base_url="https://home.example", follow_redirects=False) as browser:
        yield browser


def test_every_page_under_a_sub_path_links_inside_it(under_subpath: TestClient) -> None:
    browser = under_subpath
    assert browser.get("/coinflip/").headers["location"] == "/coinflip/login"
    assert browser.get("/coinflip/login").headers["location"] == "/coinflip/signup"
    cookie = sign_up(browser, "/coinflip")
    assert cookie.startswith("__Secure-coinflip_login=") and "Path=/coinflip/" in cookie and "Secure" in cookie
    csrf = csrf_of(browser.get("/coinflip/enhancers").text)
    browser.post("/coinflip/enhancers", data={"name": "Music", "csrf_token": csrf})
    created = browser.post("/coinflip/habits", data={"name": "Run", "enhancer_ids": ["1"], "csrf_token": csrf})
    assert created.headers["location"] == "/coinflip/"
    flipped = browser.post("/coinflip/habits/1/flips", data={"csrf_token": csrf})
    assert flipped.headers["location"] == "/coinflip/flips/1"
    pages = ["/", "/history", "/habits", "/habits/new", "/habits/1/edit", "/enhancers", "/enhancers/1/edit",
             "/members", "/members/new", "/members/1/edit", "/settings", "/flips/1", "/docs"]  # fmt: skip
    checked = 0
    for page in pages:
        response = browser.get(f"/coinflip{page}")
        assert response.status_code == 200, page
        for url in urls_in(response.text):
            assert url.startswith("/coinflip/") or url.startswith("https://"), f"{page}: {url}"
            checked += 1
        for asset in re.findall(r'(?:href|src)="(/coinflip/static/[^"]+)"', response.text):
            assert browser.get(asset).status_code == 200, asset
    assert checked > 100
    assert 'data-openapi="/coinflip/openapi.json"' in browser.get("/coinflip/docs").text
    assert browser.get("/coinflip/openapi.json").json()["info"]["title"] == "Coinflip"


def test_a_proxy_that_strips_the_sub_path_works_too(under_subpath: TestClient) -> None:
    browser = under_subpath
    assert browser.get("/login").headers["location"] == "/coinflip/signup"
    page = browser.get("/signup")
    assert page.status_code == 200
    assert all(url.startswith("/coinflip/") for url in urls_in(page.text))


@pytest.mark.parametrize("prefix", ["/coinflip", ""], ids=["the proxy keeps the sub-path", "the proxy strips it"])
def test_the_api_behind_a_proxy_takes_its_bearer_token(
    under_subpath: TestClient, db: Session, settings: Settings, prefix: str
) -> None:
    factories.make_member(db, factories.make_household(db, "Rivera"), "Ana")
    token = cli.run(["token", "create", "--household", "Rivera", "--member", "Ana"], settings)
    script = under_subpath
    script.headers["Authorization"] = f"Bearer {token}"
    me = script.get(f"{prefix}/api/v1/me")
    assert me.status_code == 200 and me.json()["member"] == "Ana"
    created = script.post(f"{prefix}/api/v1/enhancers", json={"name": "Music", "kind": "media", "spike": 2})
    assert created.status_code == 201 and created.json()["name"] == "Music"
    # Errors are JSON too: a route's own 404, a path no route has, a token that is no good.
    assert script.get(f"{prefix}/api/v1/enhancers/999").json() == {"detail": "Not found"}
    nowhere = script.post(f"{prefix}/api/v1/nowhere", json={})
    assert nowhere.status_code == 404 and nowhere.headers["content-type"] == "application/json"
    script.headers["Authorization"] = "Bearer not-a-token"
    refused = script.post(f"{prefix}/api/v1/enhancers", json={"name": "Coffee", "kind": "drink", "spike": 1})
    assert refused.status_code == 401 and refused.json() == {"detail": "Not authenticated"}
    # A page is no API: a bearer token does not log it in.
    script.headers["Authorization"] = f"Bearer {token}"
    assert script.get(f"{prefix}/settings").headers["location"] == "/coinflip/login?next=%2Fsettings"
