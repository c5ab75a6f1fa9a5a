"""Today, the flip and its final verdict, the reflection that closes it, skipping, and history."""

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import Coin, Flip, FlipEnhancer, Reflection
from app.store import PROMPTS, SKIP_COOLDOWN
from tests import factories
from tests.conftest import Home

HX = {"HX-Request": "true"}
FRESH = re.compile(r'class="verdict[^"]*\bfresh\b')
REFLECTION = {"effort": "8", "enjoyment": "7", "followed": "yes", "note": "The last hill, I leaned in."}


def flips_in(db: Session) -> list[Flip]:
    db.commit()  # ends the test's read transaction, so the next read sees what the app wrote
    return list(db.exec(select(Flip).order_by(col(Flip.id))))


def verdict_html(html: str) -> str:
    match = re.search(r'<section class="verdict.*?</section>', html, re.S)
    assert match, "no verdict on the page"
    return re.sub(r" fresh", "", match.group(0))


@pytest.fixture
def habit(db: Session, home: Home):  # type: ignore[no-untyped-def]
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "Coffee")
    return factories.make_habit(db, home.member, "Morning run", [music, coffee])


def test_today_shows_each_habit_with_a_flip_button(client: TestClient, habit) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/")
    assert page.status_code == 200
    assert "Morning run" in page.text and "The hills." in page.text
    assert f'hx-post="/habits/{habit.id}/flips"' in page.text
    assert page.headers["vary"].startswith("HX-Request")


def test_today_without_habits_shows_how_to_start(client: TestClient, home: Home) -> None:
    page = client.get("/")
    assert "Start in a minute" in page.text and 'href="/habits/new"' in page.text


def test_flip_with_htmx_swaps_the_card_in_place(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/habits/{habit.id}/flips", headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<article class="card habit" id="habit-{habit.id}">')
    assert "<html" not in response.text
    assert FRESH.search(response.text)  # the coin animates only right after the draw
    assert "After your session" in response.text
    [flip] = flips_in(db)
    assert flip.prompt in PROMPTS
    verdict = db.exec(select(FlipEnhancer).where(FlipEnhancer.flip_id == flip.id)).all()
    assert {v.name for v in verdict} == {"Music", "Coffee"}
    assert flip.coin in (Coin.heads, Coin.tails)
    assert len({v.allowed for v in verdict}) == 1  # one coin for all
    assert response.headers["vary"].startswith("HX-Request")


def test_flip_without_javascript_redirects_to_the_verdict(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/habits/{habit.id}/flips")
    [flip] = flips_in(db)
    assert response.status_code == 303 and response.headers["location"] == f"/flips/{flip.id}"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "<html" in page.text and "After your session" in page.text
    assert not FRESH.search(page.text)


def test_the_verdict_is_final_double_tap_reload_and_back(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    first = client.post(f"/habits/{habit.id}/flips", headers=HX)
    second = client.post(f"/habits/{habit.id}/flips", headers=HX)
    third = client.post(f"/habits/{habit.id}/flips")
    assert len(flips_in(db)) == 1
    assert verdict_html(first.text) == verdict_html(second.text)
    assert not FRESH.search(second.text)  # shown again, not drawn again
    flip = flips_in(db)[0]
    assert third.headers["location"] == f"/flips/{flip.id}"
    for page in (client.get("/"), client.get(f"/flips/{flip.id}"), client.get("/", headers=HX)):
        assert verdict_html(page.text) == verdict_html(first.text)
        assert "Flip<span" not in page.text  # no flip button while a flip is open


def test_the_verdict_is_final_from_a_second_phone(
    app: FastAPI,
    client: TestClient,
    db: Session,
    settings: Settings,
    home: Home,
    habit,  # type: ignore[no-untyped-def]
) -> None:
    first = client.post(f"/habits/{habit.id}/flips", headers=HX)
    with TestClient(app, follow_redirects=False) as phone:
        factories.log_in(phone, db, settings, home.household, home.member)
        again = phone.post(f"/habits/{habit.id}/flips", headers=HX)
        assert verdict_html(again.text) == verdict_html(first.text)
    assert len(flips_in(db)) == 1


def test_the_database_refuses_a_second_open_flip(db: Session, home: Home, habit) -> None:  # type: ignore[no-untyped-def]
    db.add(Flip(habit_id=habit.id, member_id=home.member.id, coin=Coin.heads, prompt="p"))
    db.commit()
    db.add(Flip(habit_id=habit.id, member_id=home.member.id, coin=Coin.tails, prompt="p"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_reflection_closes_the_flip_and_lets_the_next_one_be_drawn(
    client: TestClient,
    db: Session,
    habit,  # type: ignore[no-untyped-def]
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    response = client.post(f"/flips/{flip.id}/reflection", data=REFLECTION, headers=HX)
    assert response.status_code == 200
    assert "Reflection saved" in response.text and "Flip<span" in response.text
    db.commit()
    reflection = db.get(Reflection, flip.id)
    assert reflection is not None and (reflection.effort, reflection.enjoyment, reflection.followed) == (8, 7, "yes")
    assert flips_in(db)[0].closed_at is not None
    client.post(f"/habits/{habit.id}/flips")
    assert len(flips_in(db)) == 2


def test_reflection_without_javascript_redirects_to_the_flip(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    response = client.post(f"/flips/{flip.id}/reflection", data=REFLECTION)
    assert response.status_code == 303 and response.headers["location"] == f"/flips/{flip.id}"
    page = client.get(f"/flips/{flip.id}")
    assert "The last hill, I leaned in." in page.text and "After your session" not in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"effort": ""}, "effort", "Please fill this in."),
        ({"effort": "11"}, "effort", "at most 10"),
        ({"enjoyment": "0"}, "enjoyment", "at least 1"),
        ({"enjoyment": "lots"}, "enjoyment", "whole number"),
        ({"followed": "maybe"}, "followed", "yes"),
        ({"note": "x" * 2001}, "note", "2000 characters or fewer"),
    ],
)
@pytest.mark.parametrize("headers", [HX, {}])
def test_a_bad_reflection_keeps_what_was_typed(
    client: TestClient,
    db: Session,
    habit,
    change: dict[str, str],
    field: str,
    message: str,
    headers: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    response = client.post(f"/flips/{flip.id}/reflection", data={**REFLECTION, **change}, headers=headers)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', response.text)
    if field != "note":
        assert "The last hill, I leaned in." in response.text
    assert ("<html" in response.text) is (headers == {})
    assert flips_in(db)[0].closed_at is None and db.get(Reflection, flip.id) is None


def test_skip_keeps_the_flip_in_history_and_does_not_allow_a_redraw(
    client: TestClient,
    db: Session,
    habit,  # type: ignore[no-untyped-def]
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    response = client.post(f"/flips/{flip.id}/skip", headers=HX)
    assert "Skipped: it stays in your history" in response.text and "Flip<span" not in response.text
    again = client.post(f"/habits/{habit.id}/flips", headers=HX)
    assert again.status_code == 409 and "The coin has spoken" in again.text
    assert len(flips_in(db)) == 1 and flips_in(db)[0].skipped
    assert "Skipped." in client.get("/history").text
    # Once the cool-down has passed, the habit flips again.
    flip = flips_in(db)[0]
    assert flip.closed_at is not None
    flip.closed_at -= SKIP_COOLDOWN + timedelta(minutes=1)
    db.add(flip)
    db.commit()
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    assert len(flips_in(db)) == 2


def test_history_lists_flips_newest_first_with_reflections(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    for note in ("first session", "second session"):
        client.post(f"/habits/{habit.id}/flips")
        client.post(f"/flips/{flips_in(db)[-1].id}/reflection", data={**REFLECTION, "note": note})
    page = client.get("/history")
    assert page.text.index("second session") < page.text.index("first session")
    assert "Effort <strong>8</strong>/10" in page.text


def test_history_is_paginated(client: TestClient, db: Session, home: Home, habit) -> None:  # type: ignore[no-untyped-def]
    for i in range(25):
        client.post(f"/habits/{habit.id}/flips")
        client.post(f"/flips/{flips_in(db)[-1].id}/reflection", data={**REFLECTION, "note": f"session {i:02d}"})
    first = client.get("/history")
    assert "session 24" in first.text and "session 05" in first.text and "session 04" not in first.text
    older = re.search(r'href="(/history\?before=\d+)"', first.text)
    assert older
    second = client.get(older.group(1), headers=HX)
    assert "<html" not in second.text
    assert "session 04" in second.text and "session 00" in second.text and "session 05" not in second.text
    assert "Older flips" not in second.text


def test_no_points_streaks_or_badges_anywhere(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    client.post(f"/habits/{habit.id}/flips")
    client.post(f"/flips/{flips_in(db)[0].id}/reflection", data=REFLECTION)
    for url in ("/", "/history", f"/flips/{flips_in(db)[0].id}", "/habits", "/enhancers"):
        text = client.get(url).text.lower()
        for word in ("points", "streak", "badge", "confetti", "you earned", "level up"):
            assert word not in text, f"{word!r} on {url}"


def test_a_racing_second_draw_shows_the_first_verdict(
    app: FastAPI,
    db: Session,
    home: Home,
    habit,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """Two taps that both see no open flip: the database refuses the second insert, and it shows the first."""
    import random

    from app import store
    from app.db import open_session

    with open_session(app.state.engine) as first:
        winner, _ = store.flip_habit(first, habit, home.member, random.Random(1))
    real_latest_flip = store.latest_flip
    calls = iter([None])
    monkeypatch.setattr(store, "latest_flip", lambda d, h: next(calls, real_latest_flip(d, h)))
    with open_session(app.state.engine) as second:
        shown, fresh = store.flip_habit(second, habit, home.member, random.Random(2))
    assert (shown.flip.id, fresh) == (winner.flip.id, False)
    assert len(flips_in(db)) == 1


def test_anyone_can_check_the_flips_commitment(client: TestClient, db: Session, habit) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    page = client.post(f"/habits/{habit.id}/flips", headers=HX).text
    flip = client.get("/api/v1/flips").json()[0]
    verdict = "|".join([flip["coin"], *(f"{e['name']}={'yes' if e['allowed'] else 'no'}" for e in flip["enhancers"])])
    text = f"{verdict}|{flip['nonce']}"
    assert len(flip["nonce"]) == 32 and hashlib.sha256(text.encode()).hexdigest() == flip["commitment"]
    assert flip["commitment"] in page and text in page
