"""Malformed posts never answer 500 and never lose what was typed."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Home

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"name=" + b"x" * 100_000, "name"),  # far too long
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
