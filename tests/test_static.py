"""Static files: versioned names cached for a year, everything compressed, the Today page light."""

import gzip
import re

from fastapi.testclient import TestClient

from tests.conftest import Home

WEIGHT_BUDGET = 30 * 1024  # the Today page's first load, compressed: HTML, CSS and JavaScript


def test_static_urls_carry_their_content_hash_and_are_cached_long(client: TestClient, home: Home) -> None:
    page = client.get("/").text
    urls = re.findall(r'(?:href|src)="(/static/[^"?]+\?v=[0-9a-f]{10})"', page)
    assert any("htmx" in u for u in urls) and any("app.css" in u for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/app.css").headers["cache-control"] == "public, max-age=3600"


def test_responses_are_compressed_for_browsers_that_ask(client: TestClient, home: Home) -> None:
    for url in ("/", "/static/app.css"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip", url
    assert "content-encoding" not in client.get("/", headers={"Accept-Encoding": "identity"}).headers


def test_the_today_page_weighs_little(client: TestClient, home: Home) -> None:
    """Not a speed test: a size, measured the way a browser's first load fetches it."""
    page = client.get("/").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=[0-9a-f]+)"', page)
    total = len(gzip.compress(page.encode())) + sum(len(gzip.compress(client.get(a).content)) for a in assets)
    assert total <= WEIGHT_BUDGET, total
