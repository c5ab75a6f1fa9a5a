"""The web app manifest and icons that put Coinflip on a phone's home screen."""

import re
import struct

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import Home


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_manifest_makes_an_installable_app(client: TestClient, home: Home) -> None:
    page = client.get("/").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert re.search(r'<link rel="apple-touch-icon" href="/static/apple-touch-icon.png\?v=[0-9a-f]{10}">', page)
    response = client.get("/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["display"], manifest["start_url"], manifest["scope"]) == ("standalone", "/", "/")
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}
    for icon in manifest["icons"]:
        size = int(icon["sizes"].split("x")[0])
        assert png_size(client.get(icon["src"]).content) == (size, size)
    assert png_size(client.get("/static/apple-touch-icon.png").content) == (180, 180)


def test_the_manifest_respects_the_sub_path(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_url": "https://home.example/coinflip"}))
    manifest = TestClient(app, base_url="https://home.example").get("/coinflip/manifest.webmanifest").json()
    assert (manifest["start_url"], manifest["scope"]) == ("/coinflip/", "/coinflip/")
    assert all(icon["src"].startswith("/coinflip/static/") for icon in manifest["icons"])
