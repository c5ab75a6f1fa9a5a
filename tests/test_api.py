"""The JSON API under /api/v1 with a member's bearer token."""

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, select

from app import tokens
from app.db import Database
from app.models import Flip, Habit
from tests import factories
from tests.conftest import Clock, Home

REFLECTION = {"effort": 9, "enjoyment": 6, "followed": "partly", "note": "Tough start."}


@pytest.fixture
def api(app: FastAPI, db: Session, home: Home) -> TestClient:
    """A script's client: a bearer token and no cookies."""
    token = tokens.create(db, home.member)
    db.commit()
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_me(api: TestClient, home: Home) -> None:
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "member_id": home.member.id,
        "member": "Ana",
        "emoji": "🙂",
        "colour": "blue",
        "household_id": home.household.id,
        "household": "Rivera",
    }


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_without_a_valid_token_the_api_answers_401(app: FastAPI, header: str | None) -> None:
    client = TestClient(app, headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}


def test_the_browser_login_works_for_the_api_too(client: TestClient, home: Home) -> None:
    assert client.get("/api/v1/me").json()["member"] == "Ana"


def test_enhancers_crud(api: TestClient) -> None:
    created = api.post("/api/v1/enhancers", json={"name": "Coffee", "kind": "drink", "spike": 2})
    assert created.status_code == 201
    enhancer = created.json()
    assert enhancer == {"id": enhancer["id"], "name": "Coffee", "kind": "drink", "spike": 2}
    url = f"/api/v1/enhancers/{enhancer['id']}"
    assert api.get("/api/v1/enhancers").json() == [enhancer]
    assert api.patch(url, json={"spike": 3}).json()["spike"] == 3
    assert api.get(url).json()["spike"] == 3
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_an_enhancer_name_taken_is_refused_as_a_habit_name_is(api: TestClient) -> None:
    """Names differ beyond case, as the member's habits do; the 422 names the field, as FastAPI's own do."""
    coffee = api.post("/api/v1/enhancers", json={"name": "Coffee"}).json()
    tea = api.post("/api/v1/enhancers", json={"name": "Tea"}).json()
    refused = {"loc": ["body", "name"], "msg": "You have an enhancer called Coffee already.", "type": "value_error"}
    for response in (
        api.post("/api/v1/enhancers", json={"name": "coffee"}),
        api.patch(f"/api/v1/enhancers/{tea['id']}", json={"name": "COFFEE"}),
    ):
        assert response.status_code == 422 and response.json() == {"detail": [refused]}
    assert api.patch(f"/api/v1/enhancers/{coffee['id']}", json={"name": "coffee"}).json()["name"] == "coffee"
    assert {e["name"] for e in api.get("/api/v1/enhancers").json()} == {"coffee", "Tea"}


def test_habits_crud_and_links(api: TestClient) -> None:
    music = api.post("/api/v1/enhancers", json={"name": "Music", "kind": "media", "spike": 2}).json()
    body = {"name": "Run", "emoji": "🏃", "why": "Hills", "minimum": "Walk", "mode": "each", "chance": 0.4}
    created = api.post("/api/v1/habits", json={**body, "max_stack": 1, "enhancer_ids": [music["id"]]})
    assert created.status_code == 201
    habit = created.json()
    expected = {**body, "id": habit["id"], "max_stack": 1, "every_hours": None, "archived": False}
    assert habit == {**expected, "enhancer_ids": [music["id"]]}
    url = f"/api/v1/habits/{habit['id']}"
    patched = api.patch(url, json={"chance": 0.7, "max_stack": None, "every_hours": 6, "enhancer_ids": []}).json()
    assert (patched["chance"], patched["max_stack"], patched["enhancer_ids"], patched["name"]) == (0.7, None, [], "Run")
    assert patched["every_hours"] == 6
    assert api.patch(url, json={"every_hours": None}).json()["every_hours"] is None  # once a day again
    assert api.get("/api/v1/habits").json() == [{**patched, "every_hours": None}]
    assert api.delete(url).status_code == 204  # never flipped: no history to keep
    assert api.get(url).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/enhancers", {"name": "", "kind": "drink", "spike": 1}),
        ("/api/v1/enhancers", {"name": "x" * 61, "kind": "drink", "spike": 1}),
        ("/api/v1/enhancers", {"name": "A", "kind": "weird", "spike": 1}),
        ("/api/v1/enhancers", {"name": "A", "kind": "drink", "spike": 9}),
        ("/api/v1/enhancers", {"name": "A", "unknown": 1}),
        ("/api/v1/habits", {"name": "Run", "chance": 1.0}),
        ("/api/v1/habits", {"name": "Run", "chance": 0.0}),
        ("/api/v1/habits", {"name": "Run", "mode": "sometimes"}),
        ("/api/v1/habits", {"name": "Run", "max_stack": 0}),
        ("/api/v1/habits", {"name": "Run", "enhancer_ids": [12345]}),
        ("/api/v1/habits", {"name": "Run", "why": "w" * 301}),
        ("/api/v1/habits", {"emoji": "🏃"}),
        ("/api/v1/habits", {"name": "Run", "every_hours": 0}),
        ("/api/v1/habits", {"name": "Run", "every_hours": 25}),
        ("/api/v1/habits", {"name": "Run", "archived": True}),
    ],
)
def test_bad_input_answers_422_json(api: TestClient, path: str, body: dict[str, object]) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert "detail" in response.json()
    assert api.get(path).json() == []


def test_not_json_answers_422(api: TestClient) -> None:
    response = api.post("/api/v1/enhancers", content=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_flip_reflect_and_list(api: TestClient, db: Session, home: Home, clock: Clock) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    habit = factories.make_habit(db, home.member, enhancers=[music])
    flipped = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert flipped.status_code == 201
    flip = flipped.json()
    assert flip["habit_id"] == habit.id and flip["member_id"] == home.member.id
    assert flip["coin"] in ("heads", "tails") and flip["reflection"] is None
    assert flip["enhancers"] == [{"id": music.id, "name": "Music", "allowed": flip["coin"] == "heads"}]
    assert flip["next_flip_at"] == "2026-11-25T00:00:00Z"  # the household's day (UTC here) ends at midnight
    # While it is open, flipping again answers 200 with the same flip.
    again = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert again.status_code == 200 and again.json() == flip
    put = api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION)
    assert put.status_code == 200 and put.json()["reflection"] == {**REFLECTION, "version": 1}
    assert put.headers["etag"] == '"1"'
    got = api.get(f"/api/v1/flips/{flip['id']}")
    assert got.json()["reflection"] == {**REFLECTION, "version": 1} and got.headers["etag"] == '"1"'
    # The reflection closes the flip, not the session: no new coin until the next day.
    closed = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert closed.status_code == 409 and closed.json()["next_flip_at"] == "2026-11-25T00:00:00Z"
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    second = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert second.status_code == 201 and second.json()["id"] != flip["id"]
    listed = api.get("/api/v1/flips").json()
    assert [f["id"] for f in listed] == [second.json()["id"], flip["id"]]
    assert [f["id"] for f in api.get(f"/api/v1/flips?before={second.json()['id']}").json()] == [flip["id"]]
    assert len(api.get("/api/v1/flips?limit=1").json()) == 1
    assert api.get(f"/api/v1/flips?habit_id={habit.id + 1}").json() == []


@pytest.fixture
def run(db: Session, home: Home) -> Habit:
    return factories.make_habit(db, home.member, enhancers=[factories.make_enhancer(db, home.member, "Music")])


@pytest.mark.parametrize(
    "body",
    [
        {"effort": 0, "enjoyment": 5, "followed": "yes"},
        {"effort": 11, "enjoyment": 5, "followed": "yes"},
        {"effort": 5, "enjoyment": 5, "followed": "maybe"},
        {"effort": 5, "enjoyment": 5, "followed": "yes", "note": "n" * 2001},
        {"effort": 5},
    ],
)
def test_bad_reflections_answer_422(api: TestClient, run: Habit, body: dict[str, object]) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    assert api.put(f"/api/v1/flips/{flip['id']}/reflection", json=body).status_code == 422
    assert api.get(f"/api/v1/flips/{flip['id']}").json()["reflection"] is None


def test_an_idempotency_key_returns_the_same_flip(api: TestClient, db: Session, run: Habit, clock: Clock) -> None:
    first = api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == 201
    api.put(f"/api/v1/flips/{first.json()['id']}/reflection", json={"effort": 5, "enjoyment": 5, "followed": "yes"})
    # Even after the flip was closed, and in a later session, a retry with the same key is that same flip.
    clock.advance(days=1)
    retry = api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "tap-1"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    fresh = api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "tap-2"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    db.commit()
    assert len(db.exec(select(Flip)).all()) == 2


def test_an_idempotency_key_belongs_to_its_habit(api: TestClient, db: Session, home: Home, run: Habit) -> None:
    """Sent again for another habit, a key is a mistake: 422, and the other habit can still be flipped."""
    gym = factories.make_habit(db, home.member, "Gym", [factories.make_enhancer(db, home.member, "Coffee")])
    assert api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "k"}).status_code == 201
    reused = api.post(f"/api/v1/habits/{gym.id}/flips", headers={"Idempotency-Key": "k"})
    assert reused.status_code == 422 and "another habit" in reused.json()["detail"]
    assert api.post(f"/api/v1/habits/{gym.id}/flips", headers={"Idempotency-Key": "k2"}).status_code == 201


def test_a_key_sent_for_the_open_flip_of_another_device_is_kept(
    api: TestClient, client: TestClient, run: Habit, clock: Clock
) -> None:
    """The phone flipped (no key); a script asks with a key and gets that flip. Retried once the flip is
    reflected on, the key still answers with it, not with 409."""
    assert client.post(f"/habits/{run.id}/flips").status_code == 303
    first = api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "script-1"})
    assert first.status_code == 200
    api.put(f"/api/v1/flips/{first.json()['id']}/reflection", json=REFLECTION)
    retry = api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": "script-1"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]


def test_a_habit_name_in_use_answers_422(api: TestClient, run: Habit) -> None:
    api.post(f"/api/v1/habits/{run.id}/archive")
    response = api.post("/api/v1/habits", json={"name": run.name.upper()})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "name"]


def test_a_skipped_session_answers_409_until_it_ends(api: TestClient, client: TestClient, run: Habit) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    client.post(f"/flips/{flip['id']}/skip")
    response = api.post(f"/api/v1/habits/{run.id}/flips")
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "next_flip_at"}
    assert response.json()["next_flip_at"] == flip["next_flip_at"]


def test_a_habit_without_enhancers_is_not_flipped(api: TestClient, db: Session, home: Home) -> None:
    bare = factories.make_habit(db, home.member, "Stretch")
    response = api.post(f"/api/v1/habits/{bare.id}/flips")
    assert response.status_code == 409 and "no enhancers" in response.json()["detail"]
    db.commit()
    assert db.exec(select(Flip)).all() == []


def test_every_hours_opens_the_next_session_that_many_hours_after_the_draw(
    api: TestClient, run: Habit, clock: Clock
) -> None:
    api.patch(f"/api/v1/habits/{run.id}", json={"every_hours": 3})
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    assert flip["next_flip_at"] == "2026-11-24T12:00:00Z"
    api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION)
    clock.advance(hours=2, minutes=59)
    assert api.post(f"/api/v1/habits/{run.id}/flips").status_code == 409
    clock.advance(minutes=1)
    assert api.post(f"/api/v1/habits/{run.id}/flips").status_code == 201


def test_a_changed_policy_never_shortens_the_session_in_progress(api: TestClient, run: Habit, clock: Clock) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION)
    api.patch(f"/api/v1/habits/{run.id}", json={"every_hours": 1})
    clock.advance(hours=2)
    assert api.post(f"/api/v1/habits/{run.id}/flips").status_code == 409  # still today's session


def test_a_reflection_is_never_overwritten_unseen(api: TestClient, run: Habit) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    url = f"/api/v1/flips/{flip['id']}/reflection"
    assert api.put(url, json=REFLECTION).status_code == 200
    assert api.put(url, json=REFLECTION).status_code == 200  # the same again: a double tap
    other = {**REFLECTION, "note": "Written on the other phone."}
    conflict = api.put(url, json=other)
    assert conflict.status_code == 409 and conflict.json()["reflection"] == {**REFLECTION, "version": 1}
    assert conflict.headers["etag"] == '"1"'
    edited = api.put(url, json=other, headers={"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.json()["reflection"]["version"] == 2
    assert edited.headers["etag"] == '"2"'
    stale = api.put(url, json={**REFLECTION, "note": "From the old tab."}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["reflection"]["note"] == "Written on the other phone."
    assert api.get(f"/api/v1/flips/{flip['id']}").json()["reflection"]["note"] == "Written on the other phone."
    forced = api.put(url, json={**REFLECTION, "note": "Mine."}, headers={"If-Match": "*"})
    assert forced.status_code == 200 and forced.json()["reflection"] == {**REFLECTION, "note": "Mine.", "version": 3}


def test_if_match_may_list_several_versions(api: TestClient, run: Habit) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    url = f"/api/v1/flips/{flip['id']}/reflection"
    api.put(url, json=REFLECTION)
    listed = api.put(url, json={**REFLECTION, "note": "Edited."}, headers={"If-Match": 'W/"7", "1"'})
    assert listed.status_code == 200 and listed.json()["reflection"]["version"] == 2


def test_a_blank_idempotency_key_is_no_key(api: TestClient, db: Session, home: Home, run: Habit) -> None:
    gym = factories.make_habit(db, home.member, "Gym", [factories.make_enhancer(db, home.member, "Coffee")])
    assert api.post(f"/api/v1/habits/{run.id}/flips", headers={"Idempotency-Key": " "}).status_code == 201
    assert api.post(f"/api/v1/habits/{gym.id}/flips", headers={"Idempotency-Key": ""}).status_code == 201


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/pleasures", b'{"name": "Tea", "enjoyment": NaN, "craving": 5}'),
        ("/api/v1/pleasures", b'{"name": "Tea", "enjoyment": 1e999, "craving": 5}'),
        ("/api/v1/pleasures", b'{"name": "Tea", "enjoyment": -Infinity, "craving": 5}'),
        ("/api/v1/habits", b'{"name": "Run", "why": "\\ud800"}'),
        ("/api/v1/habits", b'{"name": "Run", "\\udfff": 1}'),
        ("/api/v1/enhancers", b'{"name": "A", "kind": "drink", "spike": NaN}'),
    ],
)
def test_values_json_cannot_echo_are_a_422_not_a_500(api: TestClient, path: str, body: bytes) -> None:
    response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("if_match", ['"1"', "*", "garbage"])
def test_if_match_before_any_reflection_answers_412(api: TestClient, run: Habit, if_match: str) -> None:
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    response = api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION, headers={"If-Match": if_match})
    assert response.status_code == 412 and response.json()["reflection"] is None


def test_archive_restore_and_delete(api: TestClient, run: Habit, clock: Clock) -> None:
    url = f"/api/v1/habits/{run.id}"
    flip = api.post(f"{url}/flips").json()
    assert api.post(f"{url}/archive").status_code == 409  # its flip waits for a reflection
    assert api.delete(url).status_code == 409
    api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION)
    assert api.delete(url).status_code == 409  # it has history: archive first
    archived = api.post(f"{url}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert api.post(f"{url}/flips").status_code == 409
    deleted = api.delete(url)
    assert deleted.status_code == 409 and "in progress" in deleted.json()["detail"]
    restored = api.post(f"{url}/restore").json()
    assert restored["archived"] is False
    assert api.post(f"{url}/flips").status_code == 409  # archive and restore did not end the session
    api.post(f"{url}/archive")
    clock.advance(days=1)
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404 and api.get(f"/api/v1/flips/{flip['id']}").status_code == 404


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(app: FastAPI) -> None:
    working = app.state.db
    app.state.db = Database(create_engine("sqlite:////nonexistent-dir/x.db"))
    try:
        response = TestClient(app).get("/healthz")
    finally:
        app.state.db = working
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


def test_openapi_documents_the_api_and_nothing_else(client: TestClient) -> None:
    """What /docs shows is what scripts may rely on: the JSON API and the health check, not the pages' forms."""
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/me", "/api/v1/habits/{habit_id}/flips", "/api/v1/flips/{flip_id}/reflection", "/healthz"):
        assert path in paths
    assert [path for path in paths if not path.startswith("/api/v1/") and path != "/healthz"] == []


def test_nul_characters_are_dropped_not_stored(api: TestClient) -> None:
    created = api.post("/api/v1/enhancers", json={"name": "Cof\u0000fee", "kind": "drink", "spike": 1})
    assert created.status_code == 201 and created.json()["name"] == "Coffee"
    assert api.post("/api/v1/enhancers", json={"name": "\u0000", "kind": "drink", "spike": 1}).status_code == 422


def test_answers_keep_their_keys_in_order(api: TestClient, run: Habit) -> None:
    """The id first, as scripts reading the values in order (`jq '[.[]]'`) have always had it."""
    flip = api.post(f"/api/v1/habits/{run.id}/flips").json()
    reflected = api.put(f"/api/v1/flips/{flip['id']}/reflection", json=REFLECTION).json()
    pleasure = api.post("/api/v1/pleasures", json={"name": "Tea", "enjoyment": 5, "craving": 5}).json()
    assert list(api.get("/api/v1/enhancers").json()[0]) == ["id", "name", "kind", "spike"]
    assert list(api.get(f"/api/v1/habits/{run.id}").json()) == [
        "id", "name", "emoji", "why", "minimum", "mode", "chance", "max_stack", "every_hours", "archived",
        "enhancer_ids",
    ]  # fmt: skip
    assert list(reflected) == [
        "id", "habit_id", "member_id", "flipped_at", "next_flip_at", "coin", "prompt", "skipped", "nonce",
        "commitment", "sealed_at", "enhancers", "reflection", "revealed_at",
    ]  # fmt: skip
    assert list(reflected["reflection"]) == ["effort", "enjoyment", "followed", "note", "version"]
    assert list(pleasure) == ["id", "name", "enjoyment", "craving", "logged_at"]
