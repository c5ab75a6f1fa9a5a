"""Pleasure checks: logging from Today (with and without htmx), the page per pleasure, the API."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import tokens
from app.models import PleasureCheck
from tests import factories
from tests.conftest import Home

HX = {"HX-Request": "true"}


def chips(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="name" value="([^"]*)"', page)


def test_today_offers_the_pleasure_check_below_the_habits_and_closed(
    client: TestClient, db: Session, home: Home
) -> None:
    factories.make_flippable_habit(db, home.member)
    page = client.get("/").text
    assert page.index('class="flip-button"') < page.index('<details class="card pleasure-check">')
    assert 'id="pleasure-form"' in page and 'type="range"' not in page
    assert chips(page) == ["Coffee", "Social media", "Sweets", "Phone", "TV series"]  # common ones, to start with
    check = page[page.index('<details class="card pleasure-check">') :]  # (Today has an offline reflection too)
    for scale in ("enjoyment", "craving"):  # 1–10 as ten chips to tap, each with its number in sight
        assert re.findall(rf'name="{scale}" value="(\d+)" ?>\s*<span>(\d+)</span>', check) == [
            (str(n), str(n)) for n in range(1, 11)
        ]


def test_the_latest_pleasures_come_first(client: TestClient, db: Session, home: Home) -> None:
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for hours, name in ((0, "Tea"), (1, "Coffee"), (2, "Chocolate"), (3, "Tea")):
        db.add(
            PleasureCheck(
                member_id=home.member.id, name=name, enjoyment=5, craving=5, logged_at=start + timedelta(hours=hours)
            )
        )
    db.commit()
    for path in ("/", "/pleasures"):
        assert chips(client.get(path).text) == [
            "Tea",
            "Chocolate",
            "Coffee",
            "Social media",
            "Sweets",
            "Phone",
            "TV series",
        ]


def test_a_chip_is_checked_again_after_a_bad_value(client: TestClient, home: Home) -> None:
    response = client.post("/pleasures", data={"name": "Sweets", "enjoyment": "7"}, headers=HX)
    assert response.status_code == 422 and 'id="craving-error"' in response.text
    assert re.search(r'name="name" value="Sweets" checked', response.text)
    assert re.search(r'name="enjoyment" value="7" checked', response.text)


@pytest.mark.parametrize("headers", [HX, {}])
def test_a_typed_name_wins_over_a_picked_chip(
    client: TestClient, db: Session, home: Home, headers: dict[str, str]
) -> None:
    """Without JavaScript a chip stays picked while a new name is typed: the typed one is meant."""
    data = {"name": "Coffee", "other_name": " Cold shower ", "enjoyment": "8", "craving": "2"}
    assert client.post("/pleasures", data=data, headers=headers).status_code in {200, 303}
    assert db.exec(select(PleasureCheck.name)).all() == ["Cold shower"]
    client.post("/pleasures", data={"name": "Coffee", "other_name": "  ", "enjoyment": "8", "craving": "2"})
    assert db.exec(select(PleasureCheck.name).order_by(PleasureCheck.id)).all() == ["Cold shower", "Coffee"]


def test_a_typed_name_too_long_is_kept_with_a_message(client: TestClient, db: Session, home: Home) -> None:
    typed = "x" * 61
    response = client.post("/pleasures", data={"other_name": typed, "enjoyment": "8", "craving": "2"}, headers=HX)
    assert response.status_code == 422 and 'id="name-error"' in response.text
    assert f'name="other_name" list="pleasure-names" data-limit="60" value="{typed}"' in response.text
    assert db.exec(select(PleasureCheck)).all() == []


def test_logging_with_htmx_swaps_the_form(client: TestClient, db: Session, home: Home) -> None:
    response = client.post("/pleasures", data={"name": "Coffee", "enjoyment": "7", "craving": "9"}, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Logged Coffee" in response.text and response.text.lstrip().startswith("<form")
    check = db.exec(select(PleasureCheck)).one()
    assert (check.name, check.enjoyment, check.craving, check.member_id) == ("Coffee", 7, 9, home.member.id)


def test_logging_without_javascript_goes_to_the_pleasure(client: TestClient, home: Home) -> None:
    response = client.post("/pleasures", data={"name": "Social media", "enjoyment": "3", "craving": "8"})
    assert response.status_code == 303 and response.headers["location"] == "/pleasures/Social%20media"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "Last one moments ago" in page.text and "enjoyed 3 · craved 8" in page.text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "enjoyment": "5", "craving": "5"}, "name"),
        ({"name": "Sweets", "enjoyment": "11", "craving": "5"}, "enjoyment"),
        ({"name": "Sweets", "enjoyment": "5", "craving": "lots"}, "craving"),
    ],
)
@pytest.mark.parametrize("headers", [HX, {}])
def test_a_bad_check_keeps_what_was_typed(
    client: TestClient, db: Session, home: Home, data: dict[str, str], field: str, headers: dict[str, str]
) -> None:
    response = client.post("/pleasures", data=data, headers=headers)
    assert response.status_code == 422 and f'id="{field}-error"' in response.text
    assert ("<html" in response.text) is (headers == {})
    if data["name"]:
        assert re.search(r'name="name"[^>]*value="Sweets"', response.text)
    assert db.exec(select(PleasureCheck)).all() == []


def test_an_unknown_pleasure_is_404(client: TestClient, home: Home) -> None:
    assert client.get("/pleasures/Nothing").status_code == 404


def test_the_pleasure_api(app: FastAPI, db: Session, home: Home) -> None:
    token = tokens.create(db, home.member)
    db.commit()
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    created = api.post("/api/v1/pleasures", json={"name": "Coffee", "enjoyment": 6, "craving": 7})
    assert created.status_code == 201 and created.json()["name"] == "Coffee"
    api.post("/api/v1/pleasures", json={"name": "Sweets", "enjoyment": 4, "craving": 9})
    assert [p["name"] for p in api.get("/api/v1/pleasures").json()] == ["Sweets", "Coffee"]
    assert [p["name"] for p in api.get("/api/v1/pleasures?name=Coffee").json()] == ["Coffee"]
    assert api.post("/api/v1/pleasures", json={"name": "Coffee", "enjoyment": 0, "craving": 7}).status_code == 422


def test_a_pleasure_reads_in_checks_with_means_of_one_decimal(client: TestClient, db: Session, home: Home) -> None:
    """Not "flips": a pleasure is checked. Every mean has one decimal: no "7.0" beside "6.67"."""
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for hours, enjoyment in ((0, 7), (40, 8), (80, 9), (120, 8)):  # gaps of 40 h: 8, 9, 8 (8.33); none short
        at = start + timedelta(hours=hours)
        db.add(
            PleasureCheck(member_id=home.member.id or 0, name="Sweets", enjoyment=enjoyment, craving=5, logged_at=at)
        )
    db.commit()
    page = client.get("/pleasures/Sweets").text
    assert "not enough checks yet (0 of 3)" in page and "flips" not in page
    assert "8.3 · 3 checks" in page
    listing = client.get("/pleasures").text
    assert "enjoyed 8.0 · craved 5.0 on average · 4 checks" in listing
