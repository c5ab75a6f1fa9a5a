"""Only the public URL's host (and COINFLIP_ALLOWED_HOSTS) is served; nothing the app sends names a Host header."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from tests.conftest import Home
from tests.test_auth import csrf_of

SIGNUP = {"name": "Rivera", "password": "long enough pw", "password_again": "long enough pw", "member": "Ana"}


@pytest.fixture
def public(settings: Settings) -> Iterator[TestClient]:
    config = settings.model_copy(
        update={"public_url": "https://home.example/coinflip", "allowed_hosts": "nas.local, 192.168.1.5"}
    )
    with TestClient(create_app(config), base_url="https://home.example", follow_redirects=False) as browser:
        yield browser


def test_only_the_public_url_and_the_allowed_hosts_are_served(public: TestClient) -> None:
    for host in ("home.example", "HOME.example:443", "nas.local:8000", "192.168.1.5"):
        assert public.get("/coinflip/signup", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "home.example.evil.example", "127.0.0.1:8000", "[::1]", ""):
        page = public.get("/coinflip/settings/", headers={"Host": host})
        assert page.status_code == 400 and "location" not in page.headers, host
        assert "didn&#39;t make sense" in page.text and "evil" not in page.text
    api = public.post("/coinflip/api/v1/enhancers", headers={"Host": "evil.example"}, json={})
    assert api.status_code == 400 and api.json() == {"detail": "Unknown host"}


def test_health_checks_answer_on_any_address(public: TestClient) -> None:
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "10.0.0.7:8000"):
        assert public.get("/coinflip/healthz", headers={"Host": host}).json() == {"status": "ok"}, host
        assert public.get("/healthz", headers={"Host": host}).json() == {"status": "ok"}, host


def test_a_form_posted_from_an_allowed_host_is_not_cross_site(public: TestClient) -> None:
    lan = {"Host": "nas.local:8000"}
    page = public.get("/coinflip/signup", headers=lan)
    form = {**SIGNUP, "csrf_token": csrf_of(page.text)}
    signed_up = public.post("/coinflip/signup", data=form, headers={**lan, "Origin": "http://nas.local:8000"})
    assert signed_up.status_code == 303 and signed_up.headers["location"].startswith("/coinflip/")
    elsewhere = public.post("/coinflip/logout", headers={**lan, "Origin": "http://evil.example"})
    assert elsewhere.status_code == 403


def test_without_a_public_url_any_host_is_served_and_never_echoed(client: TestClient, home: Home) -> None:
    evil = {"Host": "evil.example"}
    slash = client.get("/settings/", headers=evil)
    assert slash.status_code == 307 and slash.headers["location"] == "/settings"
    assert client.get("/history/?before=3", headers=evil).headers["location"] == "/history?before=3"
    flipped = client.post("/pleasures", data={"name": "Coffee", "enjoyment": "7", "craving": "9"}, headers=evil)
    assert flipped.headers["location"] == "/pleasures/Coffee"
    with TestClient(client.app, follow_redirects=False) as visitor:
        assert visitor.get("/settings", headers=evil).headers["location"] == "/login?next=%2Fsettings"


@pytest.mark.parametrize(
    ("value", "served"), [("", None), ("*", None), ("Nas.Local:8000, ,[::1]", {"nas.local", "::1"})]
)
def test_allowed_hosts_are_host_names(value: str, served: set[str] | None) -> None:
    assert Settings(allowed_hosts=value).host_names == served
    assert Settings(allowed_hosts=value, public_url="https://Home.Example:8443/x").host_names == (
        None if value == "*" else (served or set()) | {"home.example"}
    )


@pytest.mark.parametrize("value", ["https://nas.local", "*.example.com", "nas.local/coinflip"])
def test_a_url_or_a_pattern_is_no_allowed_host(value: str) -> None:
    with pytest.raises(ValidationError, match="COINFLIP_ALLOWED_HOSTS"):
        Settings(allowed_hosts=value)
