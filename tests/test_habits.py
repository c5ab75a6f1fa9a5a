"""A member's habits and their flip policies."""

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app import habits
from app.db import open_session
from app.models import NAME_MAX, NOTE_MAX, TEXT_MAX, Flip, Habit, HabitEnhancer, Member, Mode
from app.schemas import HabitIn
from tests import factories
from tests.conftest import POSTGRES_URL, Clock, Home

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
        ({"every_hours": "0"}, "every_hours", "at least 1"),
        ({"every_hours": "25"}, "every_hours", "at most 24"),
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


@pytest.mark.parametrize(
    ("emoji", "taken"), [("abc", False), ("🏃🏃", False), (":)", False), ("🏋️‍♀️", True), ("🇩🇪", True), ("1️⃣", True)]
)
def test_the_emoji_is_one_emoji(client: TestClient, db: Session, home: Home, emoji: str, taken: bool) -> None:
    """One emoji however many code points it takes (a ZWJ sequence, a flag, a keycap); not letters."""
    response = client.post("/habits", data={**HABIT, "emoji": emoji})
    if taken:
        assert response.status_code == 303 and db.exec(select(Habit.emoji)).one() == emoji
    else:
        assert response.status_code == 422 and f'value="{emoji}"' in response.text
        assert 'id="emoji-error">Please use one emoji, like 🏃 or 🏋️‍♀️' in response.text


def test_text_too_long_is_refused_saying_how_long_it_is_and_kept(client: TestClient, db: Session, home: Home) -> None:
    why = "A long why. " * 26  # 312 characters, 311 without the last space
    response = client.post("/habits", data={**HABIT, "why": why})
    assert response.status_code == 422
    assert 'id="why-error">Please keep this to 300 characters or fewer (this is 311).<' in response.text
    assert f">{why}</textarea>" in response.text
    assert db.exec(select(Habit)).all() == []


def test_a_line_break_counts_once_as_the_page_counts_it(client: TestClient, db: Session, home: Home) -> None:
    """A browser sends a textarea's line breaks as CR LF: 300 characters typed are 301 sent."""
    why = "w" * 150 + "\r\n" + "w" * 149
    assert client.post("/habits", data={**HABIT, "why": why}).status_code == 303
    assert db.exec(select(Habit.why)).one() == "w" * 150 + "\n" + "w" * 149


def test_each_field_shows_the_limit_the_server_takes(client: TestClient, db: Session, home: Home) -> None:
    """The limits of app/models.py, beside the fields as they are typed (static/app.js counts), and no maxlength
    to cut a longer paste silently."""
    flippable = factories.make_flippable_habit(db, home.member)
    client.post(f"/habits/{flippable.id}/flips")
    pages = {
        "/habits/new": {"name": NAME_MAX, "why": TEXT_MAX, "minimum": TEXT_MAX},
        "/enhancers": {"name": NAME_MAX},
        "/members/new": {"name": NAME_MAX},
        "/settings": {"name": NAME_MAX},
        "/pleasures": {"other_name": NAME_MAX},  # a new name is typed; the chips are names already taken
        "/": {"note": NOTE_MAX},
    }
    for url, limits in pages.items():
        page = client.get(url).text
        assert "maxlength" not in page.replace('maxlength="4"', ""), url  # a PIN's four digits stay a format
        for field, limit in limits.items():
            tag = re.search(rf'<(?:input|textarea)(?![^>]*type="hidden")[^>]* name="{field}"[^>]*>', page)
            assert tag and f'data-limit="{limit}"' in tag[0], (url, field)
            assert f"Up to {limit:,} characters." in page, (url, field)


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


def test_every_hours_is_set_in_the_form_and_shown(client: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    client.post("/habits", data={**HABIT, "every_hours": "8", "enhancer_ids": [str(music.id)]})
    habit = db.exec(select(Habit)).one()
    assert habit.every_hours == 8
    assert "every 8\u00a0h" in client.get("/habits").text  # kept on one line
    assert 'name="every_hours" type="number"' in client.get(f"/habits/{habit.id}/edit").text
    client.post(f"/habits/{habit.id}/edit", data={**HABIT, "every_hours": "", "enhancer_ids": [str(music.id)]})
    db.refresh(habit)
    assert habit.every_hours is None


def test_the_form_says_a_habit_needs_an_enhancer_to_flip(client: TestClient, db: Session, home: Home) -> None:
    form = client.get("/habits/new").text
    assert "Link at least one enhancer to flip this habit" in form  # shown by CSS while no box is ticked
    assert ".enhancer-choice:not(:has(input:checked)) .none-linked" in client.get("/static/app.css").text


def test_a_habit_never_flipped_is_deleted_at_once(client: TestClient, db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member, "Run")
    form = client.get(f"/habits/{habit.id}/edit").text
    assert "Delete Run" in form and "Archive Run" not in form
    assert client.post(f"/habits/{habit.id}/delete").status_code == 303
    db.commit()
    assert db.exec(select(Habit)).all() == []


def test_a_habit_with_history_is_archived_restored_and_only_then_deleted(
    client: TestClient, db: Session, home: Home, clock: Clock
) -> None:
    habit = factories.make_flippable_habit(db, home.member, "Run")
    client.post(f"/habits/{habit.id}/flips")
    flip = db.exec(select(Flip)).one()
    form = client.get(f"/habits/{habit.id}/edit").text
    assert "Archive Run" in form and "Delete Run" not in form
    # While its flip waits for a reflection, the form says so instead of offering a button that can't work.
    assert "is waiting for a reflection" in form and f'href="/flips/{flip.id}"' in form
    assert f'action="/habits/{habit.id}/archive"' not in form
    busy = client.post(f"/habits/{habit.id}/archive")
    assert busy.status_code == 409 and "waiting for its reflection" in busy.text
    assert client.post(f"/habits/{habit.id}/delete").status_code == 409
    client.post(f"/flips/{flip.id}/reflection", data={"effort": "6", "enjoyment": "6", "followed": "yes"})
    archived = client.post(f"/habits/{habit.id}/archive")
    assert archived.status_code == 303 and archived.headers["location"] == f"/habits?archived={habit.id}"
    listing = client.get(archived.headers["location"]).text
    assert "Run is archived: off Today, its history kept." in listing
    assert "Archived" in listing and "Restore<span" in listing
    # Its session is still under way: deleting it now (and adding it again) would be a second flip today.
    assert "Delete Run for good" not in listing and "can be deleted for good from midnight tonight" in listing
    assert "Run" not in client.get("/").text.split("<main")[1]
    assert "Run" in client.get("/history").text and client.get(f"/insights/habits/{habit.id}").status_code == 200
    too_soon = client.post(f"/habits/{habit.id}/delete")
    assert too_soon.status_code == 409 and "once it is over" in too_soon.text and "midnight tonight" in too_soon.text
    restored = client.post(f"/habits/{habit.id}/restore")
    assert "Run is back on Today." in client.get(restored.headers["location"]).text
    assert "Run" in client.get("/").text.split("<main")[1]
    client.post(f"/habits/{habit.id}/archive")
    clock.advance(days=1)
    assert "Delete Run for good" in client.get("/habits").text
    assert client.post(f"/habits/{habit.id}/delete").status_code == 303
    db.commit()
    assert db.exec(select(Habit)).all() == [] and db.exec(select(Flip)).all() == []


@pytest.mark.parametrize("name", ["Run", "run", " RUN "])
def test_a_name_in_use_is_refused_archived_habits_included(
    client: TestClient, db: Session, home: Home, name: str
) -> None:
    """Archive Run and add a new Run: that would be a second coin for Run today."""
    run = factories.make_flippable_habit(db, home.member, "Run")
    client.post(f"/habits/{run.id}/archive")
    response = client.post("/habits", data={**HABIT, "name": name})
    assert response.status_code == 422
    assert re.search(r'id="name-error">[^<]*called Run already in the archive: restore it', response.text)
    gym = factories.make_habit(db, home.member, "Gym")
    renamed = client.post(f"/habits/{gym.id}/edit", data={**HABIT, "name": name})
    assert renamed.status_code == 422
    assert client.post(f"/habits/{gym.id}/edit", data={**HABIT, "name": "GYM"}).status_code == 303  # its own name
    db.commit()
    assert sorted(h.name for h in db.exec(select(Habit))) == ["GYM", "Run"]


def test_an_edited_habit_goes_back_to_the_list_saying_it_is_saved(client: TestClient, db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member, "Run")
    response = client.post(f"/habits/{habit.id}/edit", data={**HABIT, "name": "Long run"})
    assert response.headers["location"] == f"/habits?saved={habit.id}"
    page = client.get(response.headers["location"]).text
    assert '<p class="notice" role="status">Long run saved. A changed coin applies from the next session.</p>' in page
    assert client.post("/habits", data=HABIT).headers["location"] == "/"  # a new one: to Today, to flip it


@pytest.mark.parametrize(("chance", "message"), [("5", "of at least 10."), ("95", "of at most 90.")])
def test_a_bound_reads_as_a_person_writes_it(client: TestClient, home: Home, chance: str, message: str) -> None:
    """10, not 10.0: the form's percentage is made of the model's probability (0.1 × 100 = 10.000000000000002)."""
    response = client.post("/habits", data={**HABIT, "chance": chance})
    assert f'id="chance-error">Please enter a value {message}</p>' in response.text


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks are PostgreSQL's (SQLite's writes take turns anyway)")
def test_two_adds_of_one_name_at_once_cannot_both_find_it_free(
    app: FastAPI, db: Session, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas add "Run" for one member at the same moment. The second's add, its check done and found the
    name free, lets the other replica's add run before it goes on (no threads, no sleeps). Without the member's
    lock, both inserted a "Run"; with it, the other replica's add has to wait until this one commits: here it
    gives up waiting (lock_timeout) instead of blocking the test, and only one "Run" is saved."""
    free_yet = habits.every_habit
    waited: list[str] = []

    def other_replica_adds_it_meanwhile(db: Session, member: Member) -> list[Habit]:
        found = free_yet(db, member)
        monkeypatch.setattr(habits, "every_habit", free_yet)
        with open_session(app.state.engine) as other:
            other.exec(text("SET LOCAL lock_timeout = '200ms'"))  # type: ignore[call-overload]
            try:
                habits.save_habit(other, home.member, None, HabitIn(name="Run"))
            except OperationalError as exc:
                waited.append(getattr(exc.orig, "sqlstate", ""))
        return found

    monkeypatch.setattr(habits, "every_habit", other_replica_adds_it_meanwhile)
    with open_session(app.state.engine) as second:
        habits.save_habit(second, home.member, None, HabitIn(name="Run"))
    db.expire_all()
    assert [h.name for h in db.exec(select(Habit))] == ["Run"]
    assert waited == ["55P03"]  # lock_not_available: it waited on the member's lock
