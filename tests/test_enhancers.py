"""A member's enhancers: suggestions, adding, editing, deleting."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Enhancer, Flip, FlipEnhancer
from tests import factories
from tests.conftest import Home


def test_suggestions_add_an_enhancer_in_one_tap(client: TestClient, db: Session, home: Home) -> None:
    page = client.get("/enhancers")
    for name in ("Music", "Coffee", "Pre-workout", "Energy drink", "Podcast", "Phone"):
        assert f"+ {name}" in page.text
    response = client.post("/enhancers", data={"name": "Coffee", "kind": "drink", "spike": "2"})
    assert response.status_code == 303
    coffee = db.exec(select(Enhancer)).one()
    assert (coffee.name, coffee.kind, coffee.spike, coffee.member_id) == ("Coffee", "drink", 2, home.member.id)
    assert "+ Coffee" not in client.get("/enhancers").text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Please fill this in."),
        ({"name": "a" * 61}, "name", "60 characters"),
        ({"name": "Sauna", "kind": "magic"}, "kind", "drink"),
        ({"name": "Sauna", "spike": "4"}, "spike", "at most 3"),
        ({"name": "Sauna", "spike": "0"}, "spike", "at least 1"),
        ({"name": "Sauna", "spike": "big"}, "spike", "whole number"),
    ],
)
def test_enhancer_form_errors_keep_the_input(
    client: TestClient, db: Session, home: Home, data: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/enhancers", data=data)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', response.text)
    if data["name"] == "Sauna":
        assert 'value="Sauna"' in response.text
    assert db.exec(select(Enhancer)).all() == []


def test_edit_an_enhancer(client: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    assert 'value="Music"' in client.get(f"/enhancers/{music.id}/edit").text
    response = client.post(f"/enhancers/{music.id}/edit", data={"name": "Loud music", "kind": "media", "spike": "3"})
    assert response.status_code == 303
    db.refresh(music)
    assert (music.name, music.spike) == ("Loud music", 3)
    bad = client.post(f"/enhancers/{music.id}/edit", data={"name": "", "kind": "media", "spike": "3"})
    assert bad.status_code == 422 and "Please fill this in." in bad.text


def test_deleting_an_enhancer_keeps_past_verdicts(client: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    habit = factories.make_habit(db, home.member, enhancers=[music])
    client.post(f"/habits/{habit.id}/flips")
    assert client.post(f"/enhancers/{music.id}/delete").status_code == 303
    db.commit()
    assert db.exec(select(Enhancer)).all() == []
    assert db.exec(select(Flip)).one()
    [kept] = db.exec(select(FlipEnhancer)).all()
    assert kept.name == "Music" and kept.enhancer_id is None
    assert "Music" in client.get("/history").text
