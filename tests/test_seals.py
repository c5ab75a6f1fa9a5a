"""Sealed flips: each habit's next verdict is drawn before the tap, its commitment shown on the card, and the tap
(online, or offline on the phone and sent later) reveals exactly that verdict, once."""

import asyncio
import hashlib
import random
import re
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

from app import tokens
from app.config import Settings
from app.deps import get_rng
from app.main import create_app
from app.models import Flip, FlipEnhancer, Habit, Mode, Seal, SealEnhancer
from tests import factories
from tests.conftest import Clock, Home

Row = TypeVar("Row", bound=SQLModel)


@pytest.fixture(autouse=True)
def one_rng_for_the_test(app: FastAPI) -> None:
    """One seeded coin for the whole test, not a fresh one per request: each seal is a new draw, as in production
    (the app's tests otherwise seed every request alike, which would seal the same verdict and nonce every time)."""
    rng = random.Random(20261124)
    app.dependency_overrides[get_rng] = lambda: rng


@pytest.fixture
def habit(db: Session, home: Home) -> Habit:
    """Two enhancers, one coin each: a verdict with more to it than heads or tails."""
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "Coffee")
    return factories.make_habit(db, home.member, "Morning run", [music, coffee], mode=Mode.each)


def copied(row: Row) -> Row:
    """The row as it is now, kept: a seal drawn later may get the same id, and the session would refresh this one."""
    return type(row)(**row.model_dump())


def seal_of(db: Session, habit: Habit) -> tuple[Seal, list[SealEnhancer]]:
    db.expire_all()
    seal = db.exec(select(Seal).where(Seal.habit_id == habit.id)).one()
    verdict = db.exec(select(SealEnhancer).where(SealEnhancer.seal_id == seal.id).order_by(col(SealEnhancer.id)))
    return copied(seal), [copied(e) for e in verdict]


def flips_of(db: Session, habit: Habit) -> list[Flip]:
    db.expire_all()
    return [copied(f) for f in db.exec(select(Flip).where(Flip.habit_id == habit.id).order_by(col(Flip.id)))]


def reveal_of(seal: Seal, verdict: list[SealEnhancer], revealed_at: str, **changes: object) -> dict[str, object]:
    """What a phone sends once it is back online, for a seal it revealed offline."""
    enhancers = [{"name": e.name, "allowed": e.allowed} for e in verdict]
    return {"commitment": seal.commitment, "coin": seal.coin.value, "enhancers": enhancers,
            "revealed_at": revealed_at, **changes}  # fmt: skip


def visible_text(page: str) -> str:
    """The page as read on screen: no scripts (the sealed verdict rides in one), no tags."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script\b.*?</script>", " ", page, flags=re.S))


def test_today_shows_the_seal_before_the_tap_and_keeps_the_verdict_out_of_sight(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    page = client.get("/").text
    seal, verdict = seal_of(db, habit)
    text = "|".join([seal.coin.value, *(f"{e.name}={'yes' if e.allowed else 'no'}" for e in verdict), seal.nonce])
    assert hashlib.sha256(text.encode()).hexdigest() == seal.commitment  # a commitment to that verdict
    assert f"Drawn and sealed at 09:00 · {seal.commitment[:8]}…" in " ".join(visible_text(page).split())
    shown = visible_text(page).casefold()
    assert not any(word in shown for word in ("heads", "tails", "mixed", "comes along", "not this time", seal.nonce))
    assert client.get("/").text.count(seal.commitment) == page.count(seal.commitment)  # not drawn again per view
    assert seal_of(db, habit)[0].commitment == seal.commitment


def test_an_online_flip_reveals_exactly_the_sealed_verdict_and_seals_the_next(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    clock.advance(minutes=13)
    response = client.post(f"/api/v1/habits/{habit.id}/flips")
    assert response.status_code == 201
    flip = response.json()
    assert (flip["coin"], flip["commitment"], flip["nonce"]) == (seal.coin.value, seal.commitment, seal.nonce)
    assert [(e["name"], e["allowed"]) for e in flip["enhancers"]] == [(e.name, e.allowed) for e in verdict]
    assert flip["sealed_at"] == seal.sealed_at.isoformat().replace("+00:00", "Z")
    assert flip["revealed_at"] == flip["flipped_at"] == clock.now.isoformat().replace("+00:00", "Z")
    following, _ = seal_of(db, habit)  # the next session's, sealed in the same transaction
    assert following.commitment != seal.commitment and following.sealed_at == clock.now
    page = client.get(f"/flips/{flip['id']}").text
    assert f"Sealed at 09:00 as <code>{seal.commitment[:4]}…</code>; revealed at 09:13" in page


def test_the_flip_button_without_javascript_reveals_the_seal_too(client: TestClient, db: Session, habit: Habit) -> None:
    client.get("/")
    seal, _ = seal_of(db, habit)
    response = client.post(f"/habits/{habit.id}/flips")
    assert response.status_code == 303
    [flip] = flips_of(db, habit)
    assert (flip.commitment, flip.coin) == (seal.commitment, seal.coin)


def test_an_offline_reveal_is_taken_once_and_a_replay_or_second_phone_gets_the_same_flip(
    client: TestClient, app: FastAPI, db: Session, home: Home, habit: Habit, clock: Clock
) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    body = reveal_of(seal, verdict, "2026-11-24T09:05:00+00:00")
    clock.advance(hours=1)
    first = client.post(f"/api/v1/habits/{habit.id}/flips", json=body)
    assert first.status_code == 201
    assert first.json()["flipped_at"] == "2026-11-24T09:05:00Z" and first.json()["commitment"] == seal.commitment
    assert client.post(f"/api/v1/habits/{habit.id}/flips", json=body).json()["id"] == first.json()["id"]
    token = tokens.create(db, home.member)
    db.commit()
    with TestClient(app) as phone:  # the member's other phone, which revealed the same seal offline
        again = phone.post(f"/api/v1/habits/{habit.id}/flips", json=body, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(flips_of(db, habit)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"coin": "tails"},  # another coin
        {"enhancers": [{"name": "Music", "allowed": True}, {"name": "Coffee", "allowed": True}]},
        {"enhancers": [{"name": "Music", "allowed": False}, {"name": "Coffee", "allowed": False}]},
    ],
)
def test_a_reveal_of_another_verdict_is_refused_and_the_seal_stands(
    client: TestClient, db: Session, habit: Habit, change: dict[str, object]
) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    body = reveal_of(seal, verdict, "2026-11-24T09:00:00Z")
    body.update(change)
    if body["coin"] == seal.coin.value and body["enhancers"] == reveal_of(seal, verdict, "")["enhancers"]:
        body["coin"] = "heads" if seal.coin.value != "heads" else "tails"  # make sure it differs
    response = client.post(f"/api/v1/habits/{habit.id}/flips", json=body)
    assert response.status_code == 422 and "not the verdict this seal holds" in response.json()["detail"]
    assert flips_of(db, habit) == [] and seal_of(db, habit)[0].commitment == seal.commitment
    # Once revealed, a different verdict sent for it is refused too: the flip keeps the sealed one.
    flip = client.post(f"/api/v1/habits/{habit.id}/flips", json=reveal_of(seal, verdict, "2026-11-24T09:00:00Z"))
    assert flip.status_code == 201
    assert client.post(f"/api/v1/habits/{habit.id}/flips", json=body).status_code == 422


def test_an_unknown_or_replaced_seal_is_refused(client: TestClient, db: Session, home: Home, habit: Habit) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    made_up = reveal_of(seal, verdict, "2026-11-24T09:00:00Z", commitment="0" * 64)
    assert client.post(f"/api/v1/habits/{habit.id}/flips", json=made_up).status_code == 409
    # The habit's coin changes: its seal is drawn anew, and the old one can no longer be revealed.
    assert client.patch(f"/api/v1/habits/{habit.id}", json={"chance": 0.3}).status_code == 200
    client.get("/")
    assert seal_of(db, habit)[0].commitment != seal.commitment
    old = client.post(f"/api/v1/habits/{habit.id}/flips", json=reveal_of(seal, verdict, "2026-11-24T09:00:00Z"))
    assert old.status_code == 409 and "no longer this habit's next one" in old.json()["detail"]
    assert flips_of(db, habit) == []


def test_a_new_enhancer_or_a_deleted_one_reseals_the_habit(
    client: TestClient, db: Session, home: Home, habit: Habit
) -> None:
    client.get("/")
    first, _ = seal_of(db, habit)
    tea = factories.make_enhancer(db, home.member, "Tea")
    ids = [*client.get(f"/api/v1/habits/{habit.id}").json()["enhancer_ids"], tea.id]
    client.patch(f"/api/v1/habits/{habit.id}", json={"enhancer_ids": ids})
    client.patch(f"/api/v1/habits/{habit.id}", json={"why": "Only words changed."})
    client.get("/")
    second, verdict = seal_of(db, habit)
    assert second.commitment != first.commitment and "Tea" in [e.name for e in verdict]
    client.patch(f"/api/v1/habits/{habit.id}", json={"why": "Words again: the seal stays."})
    client.get("/")
    assert seal_of(db, habit)[0].commitment == second.commitment
    client.delete(f"/api/v1/enhancers/{tea.id}")
    client.get("/")
    third, verdict = seal_of(db, habit)
    assert third.commitment != second.commitment and "Tea" not in [e.name for e in verdict]


@pytest.mark.parametrize(
    ("revealed_at", "kept"),
    [
        ("2026-11-24T11:05:00+02:00", "2026-11-24T09:05:00Z"),  # the phone's own offset
        ("2026-11-25T09:00:00Z", "2026-11-24T10:00:00Z"),  # a clock running fast: not after the server's now
        ("2026-11-20T09:00:00Z", "2026-11-24T09:00:00Z"),  # running slow: not before the seal existed
    ],
)
def test_the_phones_reveal_time_is_kept_within_what_is_possible(
    client: TestClient, db: Session, habit: Habit, clock: Clock, revealed_at: str, kept: str
) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    clock.advance(hours=1)
    flip = client.post(f"/api/v1/habits/{habit.id}/flips", json=reveal_of(seal, verdict, revealed_at)).json()
    assert flip["flipped_at"] == kept


def test_a_flip_revealed_offline_yesterday_counts_for_yesterday(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    client.get("/")
    seal, verdict = seal_of(db, habit)
    clock.advance(days=1)  # the phone was back online only the next day
    flip = client.post(f"/api/v1/habits/{habit.id}/flips", json=reveal_of(seal, verdict, "2026-11-24T18:00:00Z"))
    assert flip.status_code == 201 and flip.json()["next_flip_at"] == "2026-11-25T00:00:00Z"
    reflected = client.put(
        f"/api/v1/flips/{flip.json()['id']}/reflection",
        json={"effort": 7, "enjoyment": 8, "followed": "yes", "note": "Written offline."},
    )
    assert reflected.status_code == 200
    page = client.get("/").text  # today's session is free: a new seal and its Flip button
    assert seal_of(db, habit)[0].commitment[:8] in visible_text(page) and "Drawn and sealed" in page
    assert client.post(f"/api/v1/habits/{habit.id}/flips").status_code == 201


def test_a_reveal_while_another_flip_holds_the_session_is_refused(
    client: TestClient, db: Session, habit: Habit
) -> None:
    client.get("/")
    client.post(f"/api/v1/habits/{habit.id}/flips")
    seal, verdict = seal_of(db, habit)  # the next session's seal
    response = client.post(f"/api/v1/habits/{habit.id}/flips", json=reveal_of(seal, verdict, "2026-11-24T09:00:00Z"))
    assert response.status_code == 409 and len(flips_of(db, habit)) == 1


def test_many_reveals_at_once_make_one_flip_with_the_sealed_verdict(
    client: TestClient, app: FastAPI, db: Session, habit: Habit
) -> None:
    """Thirty taps at the same moment: phones sending their offline reveal and phones online tapping Flip. One
    flip, the sealed verdict, every tap answered with it."""
    client.get("/")
    seal, verdict = seal_of(db, habit)
    body = reveal_of(seal, verdict, "2026-11-24T09:00:00Z")

    async def taps() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=dict(client.headers), cookies=client.cookies
        ) as http:
            url = f"/api/v1/habits/{habit.id}/flips"
            return await asyncio.gather(*(http.post(url, json=body if i % 2 else None) for i in range(30)))

    answers = asyncio.run(taps())
    assert sorted(a.status_code for a in answers) == [200] * 29 + [201]
    assert {a.json()["id"] for a in answers} == {flips_of(db, habit)[0].id}
    [flip] = flips_of(db, habit)
    kept = db.exec(select(FlipEnhancer).where(FlipEnhancer.flip_id == flip.id).order_by(col(FlipEnhancer.id))).all()
    assert flip.commitment == seal.commitment
    assert [(e.name, e.allowed) for e in kept] == [(e.name, e.allowed) for e in verdict]


def test_the_service_worker_is_served_from_the_root_with_the_shell_written_in(client: TestClient) -> None:
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.text.startswith('importScripts("/static/sw-push.js");')
    assert re.search(r'"/static/app\.js\?v=[0-9a-f]{10}"', worker.text) and '"__SHELL__"' not in worker.text
    assert client.get("/static/sw-push.js").status_code == 200
    assert client.get("/offline").status_code == 200


def test_under_a_sub_path_the_service_worker_keeps_to_it(settings: Settings) -> None:
    config = settings.model_copy(update={"public_url": "https://home.example/coinflip/"})
    with TestClient(create_app(config), base_url="https://home.example") as browser:
        worker = browser.get("/coinflip/sw.js")
    assert worker.headers["service-worker-allowed"] == "/coinflip/"
    assert worker.text.startswith('importScripts("/coinflip/static/sw-push.js");')
    assert 'const ROOT = "/coinflip";' in worker.text
    assert re.search(r'"/coinflip/static/offline\.js\?v=[0-9a-f]{10}"', worker.text)
