"""The URLs the app builds: a name is one path segment whatever it holds, and a redirect is a path."""

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from tests import factories
from tests.conftest import Home

NAME = "a?b#c/d %"
HX = {"HX-Request": "true"}


def pleasure_links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*/pleasures/[^"]*)"', html)]


def test_a_pleasure_named_with_url_characters_links_to_its_own_page(client: TestClient, home: Home) -> None:
    logged = client.post("/pleasures", data={"name": NAME, "enjoyment": "7", "craving": "9"})
    assert logged.status_code == 303 and logged.headers["location"] == "/pleasures/a%3Fb%23c%2Fd%20%25"
    partial = client.post("/pleasures", data={"name": NAME, "enjoyment": "6", "craving": "8"}, headers=HX)
    links = [logged.headers["location"], *pleasure_links(partial.text), *pleasure_links(client.get("/pleasures").text)]
    links += pleasure_links(client.get("/insights").text)
    assert len(links) == 4 and len(set(links)) == 1
    page = client.get(links[0])
    assert page.status_code == 200 and f"<h1>{NAME}</h1>" in page.text.replace("&#34;", '"')


@pytest.fixture
def under_subpath(settings: Settings, db: Session) -> Iterator[TestClient]:
    config = settings.model_copy(update={"public_url": "http://home.example/coinflip"})
    with TestClient(create_app(config), base_url="http://home.example", follow_redirects=False) as browser:
        household = factories.make_household(db)
        factories.log_in(browser, db, config, household, factories.make_member(db, household))
        yield browser


@pytest.mark.parametrize("prefix", ["/coinflip", ""], ids=["the proxy keeps the sub-path", "the proxy strips it"])
def test_under_a_sub_path_a_name_links_to_its_page_too(under_subpath: TestClient, prefix: str) -> None:
    logged = under_subpath.post(f"{prefix}/pleasures", data={"name": NAME, "enjoyment": "7", "craving": "9"})
    assert logged.headers["location"] == "/coinflip/pleasures/a%3Fb%23c%2Fd%20%25"
    assert pleasure_links(under_subpath.get(f"{prefix}/pleasures").text) == [logged.headers["location"]]
    path = logged.headers["location"].removeprefix("/coinflip" if not prefix else "")
    assert under_subpath.get(path).status_code == 200


@pytest.mark.parametrize("prefix", ["/coinflip", ""], ids=["the proxy keeps the sub-path", "the proxy strips it"])
def test_a_stray_slash_redirects_to_a_path_under_the_sub_path(under_subpath: TestClient, prefix: str) -> None:
    evil = {"Host": "home.example", "X-Forwarded-Host": "evil.example"}
    for sent, meant in [("/settings/", "/coinflip/settings"), ("/history/?before=2", "/coinflip/history?before=2")]:
        response = under_subpath.get(prefix + sent, headers=evil)
        assert response.status_code == 307 and response.headers["location"] == meant
    assert under_subpath.get(f"{prefix}/nothing/").status_code == 404
    missing = under_subpath.get(f"{prefix}/static/nothing.css")
    assert missing.status_code == 404 and '<a class="button" href="/coinflip/">Back to Today</a>' in missing.text
    assert under_subpath.get(f"{prefix}/static/nothing.css/").status_code == 404
