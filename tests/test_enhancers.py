"""A member's enhancers: suggestions, adding, editing, deleting."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import habits
from app.models import Enhancer, Flip, FlipEnhancer
from app.schemas import EnhancerIn, EnhancerPatch
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


def test_a_name_taken_is_refused_next_to_the_field_with_what_was_typed(
    client: TestClient, db: Session, home: Home
) -> None:
    coffee = factories.make_enhancer(db, home.member, "Coffee")
    tea = factories.make_enhancer(db, home.member, "Tea")
    added = client.post("/enhancers", data={"name": "coffee ", "kind": "drink", "spike": "3"})
    assert added.status_code == 422
    assert re.search(r'id="name-error">You have an enhancer called Coffee already\.<', added.text)
    assert 'value="coffee "' in added.text and 'value="3" checked' in added.text
    renamed = client.post(f"/enhancers/{tea.id}/edit", data={"name": "COFFEE", "kind": "drink", "spike": "1"})
    assert renamed.status_code == 422 and 'id="name-error">You have an enhancer called Coffee already.' in renamed.text
    assert client.post(f"/enhancers/{coffee.id}/edit", data={"name": "coffee", "spike": "1"}).status_code == 303
    db.expire_all()
    assert sorted(e.name for e in db.exec(select(Enhancer))) == ["Tea", "coffee"]


def test_a_name_taken_since_the_form_was_checked_is_refused_by_the_write(db: Session, home: Home) -> None:
    """Another tab (or replica) adds the name after this request began: the write itself checks, under the
    member's lock, so the two can't both find it free."""
    habits.add_enhancer(db, home.member, EnhancerIn(name="Coffee"))
    with pytest.raises(habits.DuplicateName):
        habits.add_enhancer(db, home.member, EnhancerIn(name="Coffee"))
    db.rollback()
    tea = habits.add_enhancer(db, home.member, EnhancerIn(name="Tea"))
    with pytest.raises(habits.DuplicateName):
        habits.update_enhancer(db, tea, EnhancerPatch(name="coffee"))
    db.rollback()
    assert [e.name for e in habits.enhancers_of_member(db, home.member)] == ["Coffee", "Tea"]


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


def status_of(client: TestClient, location: str) -> str | None:
    """The page a save redirected to, and what it says was done (its role=status)."""
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', client.get(location).text)
    return found[1] if found else None


def test_adding_saving_and_deleting_say_so(client: TestClient, db: Session, home: Home) -> None:
    added = client.post("/enhancers", data={"name": "Coffee", "kind": "drink", "spike": "2"})
    coffee = db.exec(select(Enhancer)).one()
    assert added.headers["location"] == f"/enhancers?added={coffee.id}"
    assert status_of(client, added.headers["location"]) == "Coffee added: the coin decides when it comes along."
    saved = client.post(f"/enhancers/{coffee.id}/edit", data={"name": "Espresso", "kind": "drink", "spike": "3"})
    assert saved.headers["location"] == f"/enhancers?saved={coffee.id}"
    assert status_of(client, saved.headers["location"]) == "Espresso saved."
    deleted = client.post(f"/enhancers/{coffee.id}/delete")
    assert deleted.headers["location"] == "/enhancers?deleted=true"
    assert status_of(client, deleted.headers["location"]) == (
        "Enhancer deleted. Past verdicts keep its name; no habit links it any more."
    )
    assert status_of(client, saved.headers["location"]) is None  # gone since: nothing to say about it
    assert status_of(client, "/enhancers") is None
