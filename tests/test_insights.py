"""The insights, against numbers worked out by hand; the pages and the API show the same numbers."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import insights
from app.models import PleasureCheck
from tests import factories
from tests.conftest import Home

MONDAY = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
MUSIC = "Music"


def test_mean_and_interval_by_hand() -> None:
    # 4, 6, 8: mean 6, sd 2; t(2 df) = 4.303, half-width 4.303 * 2 / sqrt(3) = 4.969 (clipped to the 1-10 scale)
    assert insights.mean_of(3, 18, 116) == insights.Mean(3, 6.0, 1.03, 10.0)
    # 5, 5, 6, 6: mean 5.5, sd 0.577; t(3) = 3.182, half-width 0.919
    assert insights.mean_of(4, 22, 122) == insights.Mean(4, 5.5, 4.58, 6.42)
    assert insights.mean_of(2, 10, 50) == insights.Mean(2, None, None, None)  # below the minimum sample


@pytest.fixture
def run(db: Session, home: Home):  # type: ignore[no-untyped-def]
    music = factories.make_enhancer(db, home.member, MUSIC)
    return factories.make_habit(db, home.member, "Run", [music])


def test_with_vs_without_counts_only_followed_sessions(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    with_music = [(7, 8), (5, 6), (6, 7)]  # effort, enjoyment
    without = [(8, 5), (6, 7), (7, 6), (7, 6)]
    for effort, enjoyment in with_music:
        factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (effort, enjoyment, "yes"))
    for effort, enjoyment in without:
        factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (effort, enjoyment, "yes"))
    factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (2, 2, "no"))  # listened anyway
    factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, None)  # still open: not counted
    with_, without_, apart = insights.with_without(db, run)
    assert (with_.enjoyment.n, with_.enjoyment.value, with_.effort.value) == (3, 7.0, 6.0)
    assert (without_.enjoyment.n, without_.enjoyment.value, without_.effort.value) == (4, 6.0, 7.0)
    # enjoyment without: 5, 7, 6, 6 -> sd 0.816, t(3) 3.182, half-width 1.299
    assert (without_.enjoyment.low, without_.enjoyment.high) == (4.7, 7.3)
    assert (apart.enjoyment.n, apart.enjoyment.value) == (1, None)


def test_each_enhancer_is_compared_on_its_own(db: Session, home: Home) -> None:
    habit = factories.make_habit(db, home.member, "Gym")
    for music, coffee, enjoyment in [(True, False, 8), (True, True, 9), (False, True, 4), (True, False, 7),
                                     (False, False, 5), (False, True, 6)]:  # fmt: skip
        verdict = {"Coffee": (2, coffee), MUSIC: (2, music)}
        factories.make_flip(db, habit, "mixed", verdict, (5, enjoyment, "yes"))
    (coffee_name, coffee_came, coffee_stayed), (music_name, music_came, music_stayed) = insights.per_enhancer(db, habit)
    assert (coffee_name, music_name) == ("Coffee", MUSIC)
    assert (music_came.enjoyment.value, music_stayed.enjoyment.value) == (8.0, 5.0)
    assert (coffee_came.enjoyment.value, coffee_stayed.enjoyment.value) == (6.33, 6.67)


def test_bare_sessions_by_week(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    for days, enjoyment in [(0, 4), (2, 6), (8, 7), (13, 9)]:
        factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (5, enjoyment, "yes"), MONDAY + timedelta(days=days))
    factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (5, 1, "yes"), MONDAY)  # with music: not bare
    weeks = insights.bare_weeks(db, run)
    assert weeks == [
        insights.WeekPoint(MONDAY.date(), 2, 5.0),
        insights.WeekPoint((MONDAY + timedelta(days=7)).date(), 2, 8.0),
    ]


def test_the_flip_audit(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    for coin in ["heads", "heads", "tails", "tails", "tails", "heads", "tails"]:
        factories.make_flip(db, run, coin, {MUSIC: (2, coin == "heads")}, (5, 5, "yes"))
    audit = insights.audit(db, run)
    assert (audit.total, audit.heads, audit.tails, audit.heads_share) == (7, 3, 4, 0.429)
    assert (audit.longest_run, audit.longest_run_of) == (3, "tails")
    assert audit.recent == ["heads", "heads", "tails", "tails", "tails", "heads", "tails"]


def test_weekly_stacking_load(db: Session, home: Home) -> None:
    run = factories.make_habit(db, home.member, "Run")
    stack = {MUSIC: (2, True), "Coffee": (2, True), "Pre-workout": (3, True)}
    factories.make_enhancer(db, home.member, "Coffee", spike=2)
    for week in range(4):  # a usual week: one session with music (2)
        factories.make_flip(db, run, "mixed", {MUSIC: (2, True), "Coffee": (2, False)}, (5, 5, "yes"),
                            MONDAY + timedelta(weeks=week))  # fmt: skip
    heavy = MONDAY + timedelta(weeks=4)
    factories.make_flip(db, run, "heads", stack, (5, 5, "yes"), heavy)  # 7
    factories.make_flip(db, run, "heads", stack, (5, 5, "no"), heavy)  # not followed: not counted
    db.add(PleasureCheck(member_id=home.member.id or 0, name="coffee", enjoyment=5, craving=8, logged_at=heavy))  # +2
    db.add(PleasureCheck(member_id=home.member.id or 0, name="Sweets", enjoyment=5, craving=8, logged_at=heavy))  # +0
    db.commit()
    weeks = insights.stacking_load(db, home.member)
    assert [(w.load, w.stacked_sessions, w.high) for w in weeks] == [(2, 0, False)] * 4 + [(9, 1, True)]


def test_spacing_compares_short_and_long_gaps(db: Session, home: Home) -> None:
    hours_and_enjoyment = [(0, 8), (2, 5), (4, 4), (6, 3), (40, 8), (80, 9), (120, 7), (122, 4)]
    for hours, enjoyment in hours_and_enjoyment:
        at = MONDAY + timedelta(hours=hours)
        db.add(
            PleasureCheck(member_id=home.member.id or 0, name="Sweets", enjoyment=enjoyment, craving=5, logged_at=at)
        )
    db.commit()
    short, long = insights.spacing(db, home.member, "Sweets")
    assert (short.n, short.value) == (4, 4.0)  # after 2 h gaps: 5, 4, 3, 4
    assert (long.n, long.value) == (3, 8.0)  # after 34 h and 40 h gaps: 8, 9, 7


def test_the_habit_page_and_the_api_show_the_same_numbers(client: TestClient, db: Session, run) -> None:  # type: ignore[no-untyped-def]
    for enjoyment in (6, 7, 8):
        factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (5, enjoyment, "yes"))
    factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (5, 3, "yes"))
    page = client.get(f"/insights/habits/{run.id}")
    assert page.status_code == 200
    data = client.get(f"/api/v1/insights/habits/{run.id}").json()
    with_music = data["comparisons"][0]["enjoyment"]
    assert (with_music["n"], with_music["value"]) == (3, 7.0)
    assert f"{with_music['value']} · n = 3" in page.text
    assert "not enough flips yet (1 of 3)" in page.text
    assert data["audit"]["heads"] == 3 and "<strong>3</strong> heads" in page.text
    assert '<svg viewBox="0 0 320' in page.text and 'role="img" aria-label="Enjoyment of the effort' in page.text


def test_after_a_peak_today_says_a_dip_is_normal(client: TestClient, db: Session, run) -> None:  # type: ignore[no-untyped-def]
    factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (5, 6, "yes"), MONDAY)
    assert "dip below baseline" not in client.get("/").text
    factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (9, 10, "yes"), MONDAY + timedelta(days=1))
    assert "dip below baseline" in client.get("/").text


@pytest.mark.parametrize(("run_enjoyment", "piano_enjoyment", "noted"), [(10, 5, True), (5, 10, False)])
def test_after_a_peak_counts_the_latest_reflection_of_any_habit(
    client: TestClient, db: Session, home: Home, run, run_enjoyment: int, piano_enjoyment: int, noted: bool
) -> None:  # type: ignore[no-untyped-def]
    """Run is flipped before Piano but reflected on after it: Run's reflection is the latest."""
    piano = factories.make_habit(db, home.member, "Piano")
    run_flip = factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (7, run_enjoyment, "yes"), MONDAY)
    factories.make_flip(db, piano, "tails", {}, (7, piano_enjoyment, "yes"), MONDAY + timedelta(hours=1))
    run_flip.closed_at = MONDAY + timedelta(hours=2)
    db.add(run_flip)
    db.commit()
    assert ("dip below baseline" in client.get("/").text) is noted


def test_a_high_week_gets_a_gentle_note(client: TestClient, db: Session, home: Home) -> None:
    run = factories.make_habit(db, home.member, "Run")
    now = datetime.now(UTC)
    for week in range(4, 0, -1):
        factories.make_flip(db, run, "heads", {MUSIC: (1, True)}, (5, 5, "yes"), now - timedelta(weeks=week))
    factories.make_flip(db, run, "heads", {MUSIC: (3, True), "Coffee": (3, True)}, (5, 5, "yes"), now)
    page = client.get("/insights")
    assert "stacked more boosters than is usual" in page.text and "Weekly stacking load" in page.text
