"""Malformed posts never answer 500 and never lose what was typed; bodies over 64 KB are refused unread."""

from collections.abc import Iterator

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from tests.conftest import Home

FORM = "application/x-www-form-urlencoded"
LIMIT = 64 * 1024


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"name=" + b"x" * 60_000, "name"),  # far too long (but within the 64 KB any body may have)
        (b"name=Run&chance=1e999", "chance"),  # infinity
        (b"name=Run&chance=nan", "chance"),
        (b"name=Run&max_stack=99999999999999999999999", "max_stack"),
        (b"name=Run&enhancer_ids=abc", "enhancer_ids"),
        (b"\x00\x01\x02", "name"),
    ],
)
def test_malformed_habit_posts_are_answered_with_the_form(
    client: TestClient, home: Home, body: bytes, field: str
) -> None:
    response = client.post("/habits", content=body, headers={"Content-Type": FORM})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text


def test_text_that_is_not_utf8_is_kept_as_best_it_can_be(client: TestClient, home: Home) -> None:
    response = client.post("/habits", content=b"name=Caf%E9+run&why=%FF", headers={"Content-Type": FORM})
    assert response.status_code == 303
    assert "Caf\ufffd run" in client.get("/habits").text


def test_a_wrong_content_type_is_not_a_500(client: TestClient, home: Home) -> None:
    response = client.post("/habits", content=b'{"name": "Run"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "Please fill this in." in response.text


def test_a_nul_character_in_a_url_is_not_a_500(client: TestClient, home: Home) -> None:
    """PostgreSQL cannot compare text with NUL in it; schemathesis found `?name=%00` answering 500 there."""
    client.post("/pleasures", data={"name": "Coffee", "enjoyment": "7", "craving": "9"})
    assert [p["name"] for p in client.get("/api/v1/pleasures?name=Cof%00fee").json()] == ["Coffee"]
    assert client.get("/api/v1/pleasures?name=%00").json() == []
    assert "Coffee" in client.get("/pleasures/Cof%00fee").text


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_a_body_over_64_kb_is_refused_before_login_and_csrf_checks(app: FastAPI, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(app, follow_redirects=False, headers=headers) as stranger:
        body = b'{"name": "' + b"x" * LIMIT + b'"}'
        for method, path in [("POST", "/api/v1/habits"), ("PUT", "/api/v1/flips/1/reflection")]:
            api = stranger.request(method, path, content=body, headers={"Content-Type": "application/json"})
            assert api.status_code == 413 and api.json() == {"detail": "Request body too large"}, path
        for path in ("/login", "/habits", "/flips/1/skip", "/nowhere"):
            page = stranger.post(path, content=b"name=" + b"x" * LIMIT, headers={"Content-Type": FORM})
            assert page.status_code == 413 and "more than we take in one go" in page.text, path


def test_a_body_of_64_kb_is_still_read(client: TestClient, home: Home) -> None:
    body = b"name=" + b"x" * (LIMIT - 5)
    response = client.post("/habits", content=body, headers={"Content-Type": FORM})
    assert response.status_code == 422 and 'id="name-error"' in response.text


def test_a_chunked_body_over_64_kb_is_refused(client: TestClient, home: Home) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 10_000
        yield b'"}'

    response = client.post("/api/v1/habits", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json() == {"detail": "Request body too large"}


def asgi_post(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]) -> tuple[int, int]:
    """POST straight to the ASGI app; the status it answered, and how many chunks of the body it read."""
    read = 0
    status = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "state": {},
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    anyio.run(app, scope, receive, send)
    return status, read


def test_a_declared_length_over_64_kb_is_refused_without_reading_the_body(app: FastAPI) -> None:
    declared = [(b"content-length", b"100000000"), (b"content-type", b"application/json")]
    assert asgi_post(app, "/api/v1/habits", declared, iter([b"{" * 16384] * 10_000)) == (413, 0)


def test_an_endless_chunked_body_is_read_only_up_to_64_kb(app: FastAPI) -> None:
    chunked = [(b"transfer-encoding", b"chunked"), (b"content-type", FORM.encode())]
    status, read = asgi_post(app, "/habits", chunked, iter([b"x" * 16384] * 10_000))
    assert status == 413 and read == LIMIT // 16384 + 1
