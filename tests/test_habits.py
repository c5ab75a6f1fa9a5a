"""A member's habits and their flip policies."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Flip, Habit, HabitEnhancer, Mode
from tests import factories
from tests.conftest import Home

HABIT = {"name": "Gym", "emoji": "🏋️", "why": "Strong legs.", "minimum": "One set", "mode": "each", "chance": "30"}


def test_create_a_habit_with_its_policy_and_enhancers(client: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "Coffee")
    form = client.get("/habits/new").text
    assert f'value="{music.id}" checked' in form and 'value="50"' in form
    data = {**HABIT, "max_stack": "1", "enhancer_ids": [str(music.id), str(coffee.id)]}
    response = client.post("/habits", data=data)
    assert response.status_code == 303 and response.headers["location"] == "/"
    habit = db.exec(select(Habit)).one()
    assert (habit.name, habit.mode, habit.chance, habit.max_stack) == ("Gym", Mode.each, 0.3, 1)
    links = db.exec(select(HabitEnhancer.enhancer_id)).all()
    assert sorted(links) == sorted([music.id, coffee.id])
    assert "Gym" in client.get("/").text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Please fill this in."),
        ({"name": "g" * 61}, "name", "60 characters"),
        ({"chance": "5"}, "chance", "at least 10"),
        ({"chance": "95"}, "chance", "at most 90"),
        ({"chance": "half"}, "chance", "a number"),
        ({"mode": "sometimes"}, "mode", "all_or_nothing"),
        ({"max_stack": "0"}, "max_stack", "at least 1"),
        ({"why": "w" * 301}, "why", "300 characters"),
        ({"enhancer_ids": ["999"]}, "enhancer_ids", "your own list"),
    ],
)
def test_habit_form_errors_keep_the_input(
    client: TestClient, db: Session, home: Home, change: dict[str, object], field: str, message: str
) -> None:
    response = client.post("/habits", data={**HABIT, **change})
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', response.text)
    if field != "why":
        assert "Strong legs." in response.text
    assert db.exec(select(Habit)).all() == []


def test_enhancers_of_another_member_cannot_be_linked(client: TestClient, db: Session, home: Home) -> None:
    ben = factories.make_member(db, home.household, "Ben")
    bens = factories.make_enhancer(db, ben, "Ben's coffee")
    response = client.post("/habits", data={**HABIT, "enhancer_ids": [str(bens.id)]})
    assert response.status_code == 422
    assert db.exec(select(Habit)).all() == []


def test_edit_a_habit(client: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    habit = factories.make_habit(db, home.member, "Run", [music])
    form = client.get(f"/habits/{habit.id}/edit").text
    assert 'value="Run"' in form and f'value="{music.id}" checked' in form
    response = client.post(f"/habits/{habit.id}/edit", data={**HABIT, "name": "Long run"})
    assert response.status_code == 303
    db.refresh(habit)
    assert habit.name == "Long run" and habit.chance == 0.3
    db.commit()
    assert db.exec(select(HabitEnhancer)).all() == []  # unchecked means unlinked


def test_delete_a_habit_with_its_history(client: TestClient, db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member, "Run")
    client.post(f"/habits/{habit.id}/flips")
    assert "and its history" in client.get(f"/habits/{habit.id}/edit").text
    assert client.post(f"/habits/{habit.id}/delete").status_code == 303
    db.commit()
    assert db.exec(select(Habit)).all() == [] and db.exec(select(Flip)).all() == []
