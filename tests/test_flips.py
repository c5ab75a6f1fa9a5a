"""Today, the flip and its final verdict, sessions, reflections that are never overwritten unseen, skipping and
its undo, and history: through the pages, with and without htmx."""

import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import flips
from app.config import Settings
from app.copy import PROMPTS
from app.models import Coin, Flip, FlipEnhancer, Habit, Reflection
from tests import factories
from tests.conftest import Clock, Home

HX = {"HX-Request": "true"}
FRESH = re.compile(r'class="verdict[^"]*\bfresh\b')
FLIP_BUTTON = "Flip<span"
REFLECTION = {"effort": "8", "enjoyment": "7", "followed": "yes", "note": "The last hill, I leaned in."}


def flips_in(db: Session) -> list[Flip]:
    db.commit()  # ends the test's read transaction, so the next read sees what the app wrote
    return list(db.exec(select(Flip).order_by(col(Flip.id)).execution_options(populate_existing=True)))


def verdict_html(html: str) -> str:
    match = re.search(r'<section class="verdict.*?</section>', html, re.S)
    assert match, "no verdict on the page"
    return re.sub(r" fresh", "", match.group(0))


@pytest.fixture
def habit(db: Session, home: Home) -> Habit:
    music = factories.make_enhancer(db, home.member, "Music")
    coffee = factories.make_enhancer(db, home.member, "Coffee")
    return factories.make_habit(db, home.member, "Morning run", [music, coffee])


def flip_and_reflect(client: TestClient, db: Session, habit: Habit, note: str = "") -> Flip:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[-1]
    client.post(f"/flips/{flip.id}/reflection", data={**REFLECTION, "note": note})
    return flip


def test_today_shows_each_habit_with_a_flip_button(client: TestClient, habit: Habit) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Morning run" in page.text and "The hills." in page.text
    assert f'hx-post="/habits/{habit.id}/flips"' in page.text
    assert page.headers["vary"].startswith("HX-Request")


def test_today_without_habits_shows_how_to_start(client: TestClient, home: Home) -> None:
    page = client.get("/")
    assert "Start in a minute" in page.text and 'href="/habits/new"' in page.text


def test_flip_with_htmx_swaps_the_card_in_place(client: TestClient, db: Session, habit: Habit) -> None:
    response = client.post(f"/habits/{habit.id}/flips", headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<article class="card habit compact" id="habit-{habit.id}">')
    assert "<html" not in response.text
    assert FRESH.search(response.text)  # the coin animates only right after the draw
    # On Today the reflection form waits behind a closed disclosure: it would push the next habit's Flip down.
    assert '<details class="reflect">' in response.text and "After your session" in response.text
    assert "<strong>Low day?</strong> Walk 5 minutes" in response.text  # the minimum stays in sight
    [flip] = flips_in(db)
    assert flip.prompt in PROMPTS
    verdict = db.exec(select(FlipEnhancer).where(FlipEnhancer.flip_id == flip.id)).all()
    assert {v.name for v in verdict} == {"Music", "Coffee"}
    assert flip.coin in (Coin.heads, Coin.tails)
    assert len({v.allowed for v in verdict}) == 1  # one coin for all
    assert (flip.mode, flip.chance) == (habit.mode, habit.chance)  # the policy it was drawn under
    assert response.headers["vary"].startswith("HX-Request")


def test_flip_without_javascript_redirects_to_the_verdict(client: TestClient, db: Session, habit: Habit) -> None:
    response = client.post(f"/habits/{habit.id}/flips")
    [flip] = flips_in(db)
    assert response.status_code == 303 and response.headers["location"] == f"/flips/{flip.id}"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "<html" in page.text and "After your session" in page.text
    assert not FRESH.search(page.text)


def test_the_verdict_is_final_double_tap_reload_and_back(client: TestClient, db: Session, habit: Habit) -> None:
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
        assert FLIP_BUTTON not in page.text  # no flip button while a flip is open


def test_the_verdict_is_final_from_a_second_phone(
    app: FastAPI, client: TestClient, db: Session, settings: Settings, home: Home, habit: Habit
) -> None:
    first = client.post(f"/habits/{habit.id}/flips", headers=HX)
    with TestClient(app, follow_redirects=False) as phone:
        factories.log_in(phone, db, settings, home.household, home.member)
        again = phone.post(f"/habits/{habit.id}/flips", headers=HX)
        assert verdict_html(again.text) == verdict_html(first.text)
    assert len(flips_in(db)) == 1


def test_the_database_refuses_a_second_open_flip(db: Session, habit: Habit) -> None:
    factories.make_flip(db, habit, "heads")
    with pytest.raises(IntegrityError):
        factories.make_flip(db, habit, "tails")
    db.rollback()


@pytest.mark.parametrize("headers", [HX, {}])
def test_a_reflection_closes_the_flip_but_not_the_session(
    client: TestClient, db: Session, habit: Habit, clock: Clock, headers: dict[str, str]
) -> None:
    """The re-roll that was: reflect at once (here the least a reflection can be), then tap Flip again."""
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    minimal = {"effort": "1", "enjoyment": "1", "followed": "no"}
    response = client.post(f"/flips/{flip.id}/reflection", data=minimal, headers=headers)
    if headers:
        assert response.status_code == 200 and "Reflection saved" in response.text
        assert FLIP_BUTTON not in response.text
        assert "Next flip of Morning run from <strong>midnight tonight" in response.text
    else:
        assert response.status_code == 303
    verdict = verdict_html(client.get(f"/flips/{flip.id}").text)
    for _ in range(8):
        again = client.post(f"/habits/{habit.id}/flips", headers=HX)
        assert again.status_code == 409 and verdict_html(again.text) == verdict
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409  # without htmx: the same card, whole page
    today = client.get("/").text
    assert verdict_html(today) == verdict and FLIP_BUTTON not in today
    assert "Effort <strong>1</strong>/10" in today  # the closed session keeps its reflection in sight
    assert len(flips_in(db)) == 1
    clock.advance(days=1)
    assert FLIP_BUTTON in client.get("/").text
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    assert len(flips_in(db)) == 2


def test_reflection_without_javascript_redirects_to_the_flip(client: TestClient, db: Session, habit: Habit) -> None:
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
        ({"note": "x" * 2001}, "note", "Please keep this to 2,000 characters or fewer (this is 2,001)."),
    ],
)
@pytest.mark.parametrize("headers", [HX, {}])
def test_a_bad_reflection_keeps_what_was_typed(
    client: TestClient,
    db: Session,
    habit: Habit,
    change: dict[str, str],
    field: str,
    message: str,
    headers: dict[str, str],
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


@pytest.mark.parametrize("headers", [HX, {}])
def test_a_save_from_an_older_tab_shows_what_was_saved_and_keeps_the_typed_text(
    client: TestClient, db: Session, habit: Habit, headers: dict[str, str]
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    old_tab = client.get(f"/flips/{flip.id}").text
    assert 'name="version" value=""' in old_tab
    saved_elsewhere = {**REFLECTION, "note": "Saved from the other phone."}
    assert client.post(f"/flips/{flip.id}/reflection", data={**saved_elsewhere, "version": ""}).status_code == 303
    typed = {**REFLECTION, "effort": "3", "note": "Typed in the old tab.", "version": ""}
    stale = client.post(f"/flips/{flip.id}/reflection", data=typed, headers=headers)
    assert stale.status_code == 409 and ("<html" in stale.text) is (headers == {})
    assert "saved from another tab or phone" in stale.text
    assert "Saved from the other phone." in stale.text  # what is saved, shown
    assert ">Typed in the old tab.</textarea>" in stale.text  # what was typed, kept
    assert 'name="version" value="1"' in stale.text  # a second save means it
    assert ">Keep the saved one</a>" in stale.text
    db.commit()
    assert db.get(Reflection, flip.id).note == "Saved from the other phone."  # type: ignore[union-attr]
    resent = client.post(f"/flips/{flip.id}/reflection", data={**typed, "version": "1"}, headers=headers)
    assert resent.status_code in (200, 303)
    db.commit()
    saved = db.exec(select(Reflection).execution_options(populate_existing=True)).one()
    assert (saved.note, saved.effort, saved.version) == ("Typed in the old tab.", 3, 2)


def test_the_same_reflection_twice_is_a_double_tap_not_a_conflict(
    client: TestClient, db: Session, habit: Habit
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    for _ in range(2):
        response = client.post(f"/flips/{flip.id}/reflection", data={**REFLECTION, "version": ""}, headers=HX)
        assert response.status_code == 200 and "Reflection saved" in response.text


@pytest.mark.parametrize("headers", [HX, {}])
def test_a_reflection_can_be_edited(client: TestClient, db: Session, habit: Habit, headers: dict[str, str]) -> None:
    flip = flip_and_reflect(client, db, habit, "First words.")
    form = client.get(f"/flips/{flip.id}/reflection", headers=headers)
    assert form.status_code == 200 and ("<html" in form.text) is (headers == {})
    assert ">First words.</textarea>" in form.text and 'name="version" value="1"' in form.text
    assert f'href="/flips/{flip.id}"' in form.text and ">Cancel</a>" in form.text
    client.post(f"/flips/{flip.id}/reflection", data={**REFLECTION, "note": "Better words.", "version": "1"})
    assert "Better words." in client.get(f"/flips/{flip.id}").text


@pytest.mark.parametrize("headers", [HX, {}])
def test_skip_asks_first_and_keeps_the_session_closed(
    client: TestClient, db: Session, habit: Habit, headers: dict[str, str]
) -> None:
    open_card = client.post(f"/habits/{habit.id}/flips", headers=HX).text
    # Skipping sits behind a question, above the reflection form, away from "Save reflection".
    assert "<summary>Not today? Skip this session</summary>" in open_card
    assert "Skip today? The coin's verdict stays in history." in open_card
    assert open_card.index("Skip this session") < open_card.index("Save reflection")
    flip = flips_in(db)[0]
    response = client.post(f"/flips/{flip.id}/skip", headers=headers)
    assert response.status_code == (200 if headers else 303)
    today = client.get("/").text
    assert "Skipped. The coin's verdict stays in your history." in today
    assert FLIP_BUTTON not in today and "Undo skip" in today and "from <strong>midnight tonight" in today
    assert verdict_html(today) == verdict_html(open_card)
    again = client.post(f"/habits/{habit.id}/flips", headers=HX)
    assert again.status_code == 409 and "Undo skip" in again.text
    assert len(flips_in(db)) == 1 and flips_in(db)[0].skipped
    assert "Skipped." in client.get("/history").text


@pytest.mark.parametrize("headers", [HX, {}])
def test_undo_skip_reopens_the_same_flip(
    client: TestClient, db: Session, habit: Habit, clock: Clock, headers: dict[str, str]
) -> None:
    opened = client.post(f"/habits/{habit.id}/flips", headers=HX).text
    flip = flips_in(db)[0]
    client.post(f"/flips/{flip.id}/skip")
    response = client.post(f"/flips/{flip.id}/unskip", headers=headers)
    assert response.status_code == (200 if headers else 303)
    today = client.get("/").text
    assert verdict_html(today) == verdict_html(opened) and "After your session" in today
    [reopened] = flips_in(db)
    assert (reopened.id, reopened.closed_at, reopened.skipped) == (flip.id, None, False)
    client.post(f"/flips/{flip.id}/skip")
    clock.advance(days=1)
    late = client.post(f"/flips/{flip.id}/unskip", headers=HX)
    assert late.status_code == 409 and "session is over" in late.text
    assert flips_in(db)[0].skipped


def test_a_reflection_on_a_skipped_flip_does_not_end_the_session(client: TestClient, db: Session, habit: Habit) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    client.post(f"/flips/{flip.id}/skip")
    assert client.post(f"/flips/{flip.id}/reflection", data=REFLECTION).status_code == 303
    assert not flips_in(db)[0].skipped  # done after all
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409
    assert len(flips_in(db)) == 1


def test_archive_and_restore_inside_a_session_draw_nothing(client: TestClient, db: Session, habit: Habit) -> None:
    flip = flip_and_reflect(client, db, habit)
    assert client.post(f"/habits/{habit.id}/archive").status_code == 303
    assert "Morning run" not in client.get("/").text
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409
    assert client.post(f"/habits/{habit.id}/restore").status_code == 303
    today = client.get("/").text
    assert FLIP_BUTTON not in today and "Next flip of Morning run" in today
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409
    assert [f.id for f in flips_in(db)] == [flip.id]


@pytest.mark.parametrize("headers", [HX, {}])
def test_a_habit_without_enhancers_says_what_to_do_instead_of_flip(
    client: TestClient, db: Session, home: Home, headers: dict[str, str]
) -> None:
    bare = factories.make_habit(db, home.member, "Stretch")
    today = client.get("/").text
    assert FLIP_BUTTON not in today and "Link an enhancer to flip" in today
    assert f'href="/habits/{bare.id}/edit"' in today
    response = client.post(f"/habits/{bare.id}/flips", headers=headers)
    assert response.status_code == 409 and "Link an enhancer to flip" in response.text
    assert "Heads" not in response.text and "follow the coin" not in response.text
    assert flips_in(db) == []


def test_the_session_is_the_households_local_day(
    client: TestClient, db: Session, home: Home, habit: Habit, clock: Clock
) -> None:
    """In Auckland (UTC+13 in November) the day turns at 11:00 UTC: flips follow the household's midnight."""
    factories.move_household(db, home.household, "Pacific/Auckland")
    zone = ZoneInfo("Pacific/Auckland")
    clock.set(datetime(2026, 11, 24, 23, 50, tzinfo=zone))
    flip_and_reflect(client, db, habit)
    page = client.get("/").text
    assert "from <strong>midnight tonight" in page
    assert "Tue, 24 Nov 2026, 23:50" in page  # shown in the household's time, not the server's
    clock.set(datetime(2026, 11, 24, 23, 59, 59, tzinfo=zone))
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=zone))  # 11:00 UTC: still the 24th in London
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    assert [f.next_flip_at for f in flips_in(db)] == [
        datetime(2026, 11, 25, 0, 0, tzinfo=zone),
        datetime(2026, 11, 26, 0, 0, tzinfo=zone),
    ]


def test_a_new_time_zone_never_shortens_the_session_under_way(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    """Reflected at 09:00 UTC, then the household moves to Los Angeles: at 00:30 UTC it is still the 24th there,
    so the session lasts until Los Angeles' midnight, not the old zone's."""
    flip_and_reflect(client, db, habit)
    assert client.post("/settings/timezone", data={"timezone": "America/Los_Angeles"}).status_code == 303
    clock.set(datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
    assert client.post(f"/habits/{habit.id}/flips").status_code == 409
    assert "from <strong>midnight tonight" in client.get("/").text  # Los Angeles' midnight, shown there
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles")))
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    first, second = flips_in(db)
    assert first.next_flip_at == datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert second.next_flip_at == datetime(2026, 11, 26, 0, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def test_a_session_of_hours_keeps_its_end_whatever_the_zone(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    habit.every_hours = 6
    db.add(habit)
    db.commit()
    flip_and_reflect(client, db, habit)
    client.post("/settings/timezone", data={"timezone": "Pacific/Kiritimati"})
    assert flips_in(db)[0].next_flip_at == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    skip_words = client.get(f"/flips/{flips_in(db)[0].id}").text
    clock.advance(hours=6)
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    assert "Skip today?" not in skip_words


def test_a_skip_cannot_be_undone_on_an_archived_habit(client: TestClient, db: Session, habit: Habit) -> None:
    client.post(f"/habits/{habit.id}/flips")
    flip = flips_in(db)[0]
    client.post(f"/flips/{flip.id}/skip")
    client.post(f"/habits/{habit.id}/archive")
    response = client.post(f"/flips/{flip.id}/unskip", headers=HX)
    assert response.status_code == 409 and "is archived" in response.text
    assert flips_in(db)[0].skipped  # an archived habit has no open flip


def test_a_draw_reads_the_habit_as_it_is_now(app: FastAPI, db: Session, home: Home, habit: Habit) -> None:
    """A request that loaded the habit before another archived it must not draw for it (PostgreSQL lets the
    two overlap; the lock re-reads the habit)."""
    from app import habits
    from app.db import Sql, open_session

    now = datetime.now(UTC)
    with open_session(app.state.engine) as stale:
        old = stale.get(Habit, habit.id)
        assert old is not None and old.archived_at is None
        stale.commit()  # what this request read stays in its session; the others may now write
        with open_session(app.state.engine) as other:
            habits.archive_habit(other, other.get(Habit, habit.id), now)  # type: ignore[arg-type]
        with pytest.raises(flips.HabitArchived):
            flips.flip_habit(Sql.of(stale), old, home.member, random.Random(3), now)
    assert flips_in(db) == []


def test_an_unreflected_session_waits_on_today_and_closes_with_the_next_flip(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    client.post(f"/habits/{habit.id}/flips")
    first = flips_in(db)[0]
    clock.advance(days=1)
    today = client.get("/").text
    assert FLIP_BUTTON in today and "has no reflection yet" in today and f'href="/flips/{first.id}"' in today
    client.post(f"/habits/{habit.id}/flips")
    earlier, latest = flips_in(db)
    assert earlier.closed_at == earlier.next_flip_at and latest.closed_at is None
    # Its reflection can still be written, later.
    assert client.post(f"/flips/{first.id}/reflection", data=REFLECTION).status_code == 303
    db.commit()
    assert db.get(Reflection, first.id) is not None


def test_history_lists_flips_newest_first_with_reflections(
    client: TestClient, db: Session, habit: Habit, clock: Clock
) -> None:
    for note in ("first session", "second session"):
        flip_and_reflect(client, db, habit, note)
        clock.advance(days=1)
    page = client.get("/history")
    assert page.text.index("second session") < page.text.index("first session")
    assert "Effort <strong>8</strong>/10" in page.text


def test_history_is_paginated(client: TestClient, db: Session, habit: Habit, clock: Clock) -> None:
    for i in range(25):
        flip_and_reflect(client, db, habit, f"session {i:02d}")
        clock.advance(days=1)
    first = client.get("/history")
    assert "session 24" in first.text and "session 05" in first.text and "session 04" not in first.text
    older = re.search(r'href="(/history\?before=\d+)"', first.text)
    assert older
    second = client.get(older.group(1), headers=HX)
    assert "<html" not in second.text
    assert "session 04" in second.text and "session 00" in second.text and "session 05" not in second.text
    assert "Older flips" not in second.text


def test_no_points_streaks_or_badges_anywhere(client: TestClient, db: Session, habit: Habit) -> None:
    flip = flip_and_reflect(client, db, habit)
    for url in ("/", "/history", f"/flips/{flip.id}", "/habits", "/enhancers"):
        text = client.get(url).text.lower()
        for word in ("points", "streak", "badge", "confetti", "you earned", "level up"):
            assert word not in text, f"{word!r} on {url}"


def test_a_racing_second_draw_shows_the_first_verdict(
    app: FastAPI, db: Session, home: Home, habit: Habit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two taps that both see no open flip (as if the lock were missing): the database refuses the second
    insert, and the tap is answered with the first verdict."""
    from app.db import Sql, open_session

    now = datetime.now(UTC)
    with open_session(app.state.engine) as first:
        winner, _ = flips.flip_habit(Sql.of(first), habit, home.member, random.Random(1), now)
        first.commit()
    real_latest_flip = flips.latest_flip
    calls = iter([None])
    monkeypatch.setattr(flips, "latest_flip", lambda d, h: next(calls, real_latest_flip(d, h)))
    with open_session(app.state.engine) as second:
        shown, fresh = flips.flip_habit(
            Sql.of(second), habit, home.member, random.Random(2), now + timedelta(seconds=1)
        )
    assert (shown.flip.id, fresh) == (winner.flip.id, False)
    assert len(flips_in(db)) == 1


def test_anyone_can_check_the_flips_commitment(client: TestClient, db: Session, habit: Habit) -> None:
    import hashlib

    page = client.post(f"/habits/{habit.id}/flips", headers=HX).text
    flip = client.get("/api/v1/flips").json()[0]
    verdict = "|".join([flip["coin"], *(f"{e['name']}={'yes' if e['allowed'] else 'no'}" for e in flip["enhancers"])])
    text = f"{verdict}|{flip['nonce']}"
    assert len(flip["nonce"]) == 32 and hashlib.sha256(text.encode()).hexdigest() == flip["commitment"]
    assert flip["commitment"] in page and text in page


def test_history_shows_one_habit_from_its_url_with_and_without_htmx(
    client: TestClient, db: Session, home: Home, habit: Habit, clock: Clock
) -> None:
    gym = factories.make_habit(db, home.member, "Gym", [factories.make_enhancer(db, home.member, "Podcast")])
    for i in range(22):
        flip_and_reflect(client, db, habit, f"run {i:02d}")
        flip_and_reflect(client, db, gym, f"gym {i:02d}")
        clock.advance(days=1)
    every = client.get("/history?habit=")
    assert "run 21" in every.text and "gym 21" in every.text and '<option value="">every habit</option>' in every.text
    page = client.get(f"/history?habit={gym.id}")
    main = page.text.split('<main id="main">')[1]  # the page's own words, not the script's (base.html)
    assert "gym 21" in main and "run" not in main.replace("Morning run</option>", "")
    assert f'<option value="{gym.id}" selected>' in page.text and "<title>History: Gym" in page.text
    twentieth = [f for f in reversed(flips_in(db)) if f.habit_id == gym.id][19]
    older = f"/history?before={twentieth.id}&habit={gym.id}"  # the next page is of the same habit
    assert f'href="{older.replace("&", "&amp;")}"' in page.text
    swapped = client.get(f"/history?habit={gym.id}", headers=HX)  # the filter's change, swapped by htmx
    assert "<html" not in swapped.text and "gym 21" in swapped.text and "run 21" not in swapped.text
    rest = client.get(older, headers=HX)
    assert "gym 01" in rest.text and "gym 00" in rest.text and "run" not in rest.text and "Older flips" not in rest.text


def test_history_of_a_habit_not_ones_own_is_404(client: TestClient, db: Session, home: Home, habit: Habit) -> None:
    bens = factories.make_habit(db, factories.make_member(db, home.household, "Ben"), "Ben's run")
    for value in (str(bens.id), "999", "run"):
        assert client.get(f"/history?habit={value}").status_code == 404, value


def test_history_shortens_a_long_note_and_keeps_it_whole_behind_one_tap(
    client: TestClient, db: Session, home: Home, habit: Habit
) -> None:
    note = "Leaned into the hill. " * 90  # 1,980 characters
    flip = flip_and_reflect(client, db, habit, note)
    page = client.get("/history").text
    excerpt = re.search(r'<blockquote class="excerpt">([^<]*)</blockquote>', page)
    assert excerpt and excerpt[1].endswith("…") and len(excerpt[1]) <= 281
    assert note.startswith(excerpt[1].removesuffix("…") + " ")  # cut between two words
    whole = f'<span class="when-open">Show less</span></summary><blockquote>{note.strip()}</blockquote>'
    assert "Read the whole note</span>" in page and whole in page
    assert "Read the whole note" not in client.get(f"/flips/{flip.id}").text  # a flip's own page shows it all
    short = "Four lines.\nAre fine.\nIn history.\nAs they are."
    flip_and_reflect(client, db, factories.make_flippable_habit(db, home.member, "Swim"), short)
    assert "<blockquote>Four lines.\nAre fine.\nIn history.\nAs they are.</blockquote>" in client.get("/history").text


def test_today_shows_a_long_note_as_its_beginning_and_the_flips_page_in_full(
    client: TestClient, db: Session, habit: Habit
) -> None:
    note = "Long hill, kept going. " * 86  # 1,978 characters: near the limit of 2,000
    flip = factories.make_flip(db, habit, "heads", reflection=(8, 9, "yes"))
    reflection = db.exec(select(Reflection).where(Reflection.flip_id == flip.id)).one()
    reflection.note = note
    db.add(reflection)
    db.commit()
    today = client.get("/").text
    assert '<blockquote class="excerpt">' in today and "Read the whole note" in today
    assert today.index('<blockquote class="excerpt">') < today.index(f"<blockquote>{note.strip()}")
    own = client.get(f"/flips/{flip.id}").text
    assert 'class="excerpt"' not in own and f"<blockquote>{note.strip()}" in own


def test_the_reflection_form_is_open_on_the_flips_own_page_and_closed_on_today(
    client: TestClient, db: Session, habit: Habit
) -> None:
    flip = factories.make_flip(db, habit, "tails")
    today = client.get("/").text
    assert re.search(r'<details class="reflect">\s*<summary>After your session: reflect', today)
    own = client.get(f"/flips/{flip.id}").text
    assert '<form class="reflection"' in own and '<details class="reflect"' not in own
    assert 'class="card habit compact"' in today and 'class="card habit"' in own
