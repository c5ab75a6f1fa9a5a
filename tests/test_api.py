"""The JSON API under /api/v1 with a member's bearer token."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, select

from app import security
from app.models import Flip
from tests import factories
from tests.conftest import Home


@pytest.fixture
def api(app: FastAPI, db: Session, home: Home) -> TestClient:
    """A script's client: a bearer token and no cookies."""
    token = security.create_api_token(db, home.member)
    db.commit()
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_me(api: TestClient, home: Home) -> None:
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "member_id": home.member.id,
        "member": "Ana",
        "emoji": "🙂",
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


def test_habits_crud_and_links(api: TestClient) -> None:
    music = api.post("/api/v1/enhancers", json={"name": "Music", "kind": "media", "spike": 2}).json()
    body = {"name": "Run", "emoji": "🏃", "why": "Hills", "minimum": "Walk", "mode": "each", "chance": 0.4}
    created = api.post("/api/v1/habits", json={**body, "max_stack": 1, "enhancer_ids": [music["id"]]})
    assert created.status_code == 201
    habit = created.json()
    assert habit == {**body, "id": habit["id"], "max_stack": 1, "enhancer_ids": [music["id"]]}
    url = f"/api/v1/habits/{habit['id']}"
    patched = api.patch(url, json={"chance": 0.7, "max_stack": None, "enhancer_ids": []}).json()
    assert (patched["chance"], patched["max_stack"], patched["enhancer_ids"], patched["name"]) == (0.7, None, [], "Run")
    assert api.get("/api/v1/habits").json() == [patched]
    assert api.delete(url).status_code == 204
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


def test_flip_reflect_and_list(api: TestClient, db: Session, home: Home) -> None:
    music = factories.make_enhancer(db, home.member, "Music")
    habit = factories.make_habit(db, home.member, enhancers=[music])
    flipped = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert flipped.status_code == 201
    flip = flipped.json()
    assert flip["habit_id"] == habit.id and flip["member_id"] == home.member.id
    assert flip["coin"] in ("heads", "tails") and flip["reflection"] is None
    assert flip["enhancers"] == [{"id": music.id, "name": "Music", "allowed": flip["coin"] == "heads"}]
    # While it is open, flipping again answers 200 with the same flip.
    again = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert again.status_code == 200 and again.json() == flip
    reflection = {"effort": 9, "enjoyment": 6, "followed": "partly", "note": "Tough start."}
    put = api.put(f"/api/v1/flips/{flip['id']}/reflection", json=reflection)
    assert put.status_code == 200 and put.json()["reflection"] == reflection
    assert api.get(f"/api/v1/flips/{flip['id']}").json()["reflection"] == reflection
    second = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert second.status_code == 201 and second.json()["id"] != flip["id"]
    listed = api.get("/api/v1/flips").json()
    assert [f["id"] for f in listed] == [second.json()["id"], flip["id"]]
    assert [f["id"] for f in api.get(f"/api/v1/flips?before={second.json()['id']}").json()] == [flip["id"]]
    assert len(api.get("/api/v1/flips?limit=1").json()) == 1
    assert api.get(f"/api/v1/flips?habit_id={habit.id + 1}").json() == []


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
def test_bad_reflections_answer_422(api: TestClient, db: Session, home: Home, body: dict[str, object]) -> None:
    habit = factories.make_habit(db, home.member)
    flip = api.post(f"/api/v1/habits/{habit.id}/flips").json()
    assert api.put(f"/api/v1/flips/{flip['id']}/reflection", json=body).status_code == 422
    assert api.get(f"/api/v1/flips/{flip['id']}").json()["reflection"] is None


def test_an_idempotency_key_returns_the_same_flip(api: TestClient, db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member)
    first = api.post(f"/api/v1/habits/{habit.id}/flips", headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == 201
    api.put(f"/api/v1/flips/{first.json()['id']}/reflection", json={"effort": 5, "enjoyment": 5, "followed": "yes"})
    # Even after the flip was closed, a retry with the same key is answered with that flip, not a new draw.
    retry = api.post(f"/api/v1/habits/{habit.id}/flips", headers={"Idempotency-Key": "tap-1"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    fresh = api.post(f"/api/v1/habits/{habit.id}/flips", headers={"Idempotency-Key": "tap-2"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    db.commit()
    assert len(db.exec(select(Flip)).all()) == 2


def test_skipped_flip_cools_down_with_409(api: TestClient, client: TestClient, db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member)
    flip = api.post(f"/api/v1/habits/{habit.id}/flips").json()
    client.post(f"/flips/{flip['id']}/skip")
    response = api.post(f"/api/v1/habits/{habit.id}/flips")
    assert response.status_code == 409 and "skipped" in response.json()["detail"]


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(app: FastAPI) -> None:
    working = app.state.engine
    app.state.engine = create_engine("sqlite:////nonexistent-dir/x.db")
    try:
        response = TestClient(app).get("/healthz")
    finally:
        app.state.engine = working
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
