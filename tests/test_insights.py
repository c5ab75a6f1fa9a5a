"""The insights, against numbers worked out by hand; the pages and the API show the same numbers."""

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import flips, insights, pleasures, stats
from app.db import Sql
from app.models import Mode, PleasureCheck
from tests import factories
from tests.conftest import Home

MONDAY = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
MUSIC = "Music"
UTC_ZONE = ZoneInfo("UTC")


def test_mean_and_interval_by_hand() -> None:
    # 4, 6, 8: mean 6, sd 2; t(2 df) = 4.303, half-width 4.303 * 2 / sqrt(3) = 4.969 (clipped to the 1-10 scale)
    assert stats.mean_of(3, 18, 116) == stats.Mean(3, 6.0, 1.03, 10.0)
    # 5, 5, 6, 6: mean 5.5, sd 0.577; t(3) = 3.182, half-width 0.919
    assert stats.mean_of(4, 22, 122) == stats.Mean(4, 5.5, 4.58, 6.42)
    assert stats.mean_of(2, 10, 50) == stats.Mean(2, None, None, None)  # below the minimum sample


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
    weeks = insights.bare_weeks(db, run, UTC_ZONE)
    assert weeks == [
        insights.WeekPoint(MONDAY.date(), 2, 5.0),
        insights.WeekPoint((MONDAY + timedelta(days=7)).date(), 2, 8.0),
    ]


def test_weeks_follow_the_households_time_zone(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    """Sunday 23:30 UTC is already Monday in Berlin: the session belongs to the next week there."""
    sunday_night = MONDAY + timedelta(days=6, hours=16, minutes=30)
    factories.make_flip(db, run, "tails", {MUSIC: (2, False)}, (5, 6, "yes"), sunday_night)
    assert [w.week for w in insights.bare_weeks(db, run, UTC_ZONE)] == [MONDAY.date()]
    assert [w.week for w in insights.bare_weeks(db, run, ZoneInfo("Europe/Berlin"))] == [
        (MONDAY + timedelta(days=7)).date()
    ]


def test_the_flip_audit_of_one_coin(db: Session, run) -> None:  # type: ignore[no-untyped-def]
    for coin in ["heads", "heads", "tails", "tails", "tails", "heads", "tails"]:
        factories.make_flip(db, run, coin, {MUSIC: (2, coin == "heads")}, (5, 5, "yes"))
    audit = insights.audit(db, run)
    assert (audit.total, audit.heads, audit.tails, audit.heads_share) == (7, 3, 4, 0.429)
    [coin] = audit.coins
    assert (coin.name, coin.n, coin.yes, coin.chance) == ("coin", 7, 3, 0.5)
    assert (coin.longest_run, coin.longest_run_yes) == (3, False)
    assert coin.recent == [True, True, False, False, False, True, False]
    assert (coin.usual_yes, coin.fair, audit.looks_fair) == (None, None, None)  # too few flips to judge


def test_one_flip_reads_as_one(client: TestClient, db: Session, run) -> None:  # type: ignore[no-untyped-def]
    factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (5, 5, "yes"))
    page = client.get(f"/insights/habits/{run.id}").text
    assert "Heads came up <strong>1 time</strong> in 1 flip (100%)" in page and "The latest 1 flip," in page
    assert "Too few flips to judge yet" in page


def test_the_usual_ranges_by_hand() -> None:
    # 10 fair flips: P(0 heads) = 1/1024 < 0.005, P(at most 1) = 11/1024 > 0.005; symmetric above.
    assert stats.binomial_range(10, 0.5) == (1, 9)
    # 4 fair flips: of 16 sequences, 10 have no run longer than 2 and 14 none longer than 3.
    assert stats.longest_run_at_most(4, 0.5, 2) == pytest.approx(10 / 16)
    assert stats.longest_run_at_most(4, 0.5, 3) == pytest.approx(14 / 16)
    assert stats.run_range(4, 0.5) == (1, 4)


def test_the_run_probability_matches_every_sequence_counted_out() -> None:
    """The O(n) recurrence against all 2^n sequences, weighted by their probability, for small n."""
    for n in range(1, 11):
        for p in (0.1, 0.5, 0.7):
            for k in range(1, n + 1):
                exact = sum(
                    math.prod(p if x else 1 - p for x in seq)
                    for seq in itertools.product((True, False), repeat=n)
                    if stats.longest_run(seq)[0] <= k
                )
                assert stats.longest_run_at_most(n, p, k) == pytest.approx(exact, abs=1e-12)


def test_a_coin_that_always_says_yes_is_called_unusual(client: TestClient, db: Session, run) -> None:  # type: ignore[no-untyped-def]
    for _ in range(20):
        factories.make_flip(db, run, "heads", {MUSIC: (2, True)}, (5, 5, "yes"))
    audit = insights.audit(db, run)
    assert audit.coins[0].usual_yes == (4, 16) and audit.looks_fair is False
    assert "Something here is unusual" in client.get(f"/insights/habits/{run.id}").text


def test_a_changed_chance_is_judged_at_each_chance(db: Session, home: Home) -> None:
    """Twenty flips at 90 %, then twenty at 10 %: an honest coin, judged at the average 50 %, looked rigged."""
    music = factories.make_enhancer(db, home.member, MUSIC)
    run = factories.make_habit(db, home.member, "Run", [music], chance=0.9)
    rng, start = random.Random(5), datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    for day in range(40):
        if day == 20:
            run.chance = 0.1
            db.add(run)
            db.commit()
        flips.flip_habit(Sql.of(db), run, home.member, rng, start + timedelta(days=day))
    audit = insights.audit(db, run)
    assert [(c.name, c.chance, c.n) for c in audit.coins] == [("coin", 0.1, 20), ("coin", 0.9, 20)]
    assert audit.coins[0].yes < 8 < 12 < audit.coins[1].yes and audit.looks_fair is True


def test_two_enhancers_of_one_name_are_two_coins(db: Session, home: Home) -> None:
    first, second = factories.make_enhancer(db, home.member, MUSIC), factories.make_enhancer(db, home.member, MUSIC)
    gym = factories.make_habit(db, home.member, "Gym", [first, second], mode=Mode.each)
    rng, start = random.Random(6), datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    for day in range(12):
        flips.flip_habit(Sql.of(db), gym, home.member, rng, start + timedelta(days=day))
    assert [(c.name, c.n) for c in insights.audit(db, gym).coins] == [(MUSIC, 12), (MUSIC, 12)]


def test_the_each_mode_audit_judges_each_enhancers_own_coin(client: TestClient, db: Session, home: Home) -> None:
    """Sixty sessions drawn by a seeded coin, a coin for each of three enhancers and at most two kept: each
    enhancer's record counts its own coin's yes (also when the cap left it home), "mixed" counts for nothing."""
    enhancers = [factories.make_enhancer(db, home.member, name) for name in ("Music", "Podcast", "Pre-workout")]
    gym = factories.make_habit(db, home.member, "Gym", enhancers, mode=Mode.each, chance=0.6)
    gym.max_stack = 2
    db.add(gym)
    db.commit()
    rng, start = random.Random(12), datetime(2026, 9, 1, 18, 0, tzinfo=UTC)
    for day in range(60):
        flips.flip_habit(Sql.of(db), gym, home.member, rng, start + timedelta(days=day))
    db.commit()
    audit = insights.audit(db, gym)
    assert [c.name for c in audit.coins] == ["Music", "Podcast", "Pre-workout"]
    verdicts = client.get("/api/v1/flips?limit=60").json()
    for record in audit.coins:
        allowed = sum(e["allowed"] for f in verdicts for e in f["enhancers"] if e["name"] == record.name)
        assert record.n == 60 and record.yes >= allowed and record.chance == 0.6
        assert record.usual_yes is not None and record.usual_yes[0] <= record.yes <= record.usual_yes[1]
    assert sum(c.yes for c in audit.coins) > sum(e["allowed"] for f in verdicts for e in f["enhancers"])  # capped
    assert audit.mixed > 0 and audit.looks_fair is True
    page = client.get(f"/insights/habits/{gym.id}").text
    assert "The coin looks fair." in page and "Music: its own coin, at 60%" in page and "% heads" not in page
    data = client.get(f"/api/v1/insights/habits/{gym.id}").json()["audit"]
    assert data["looks_fair"] is True and [c["name"] for c in data["coins"]] == ["Music", "Podcast", "Pre-workout"]


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
    weeks = insights.stacking_load(db, home.member, UTC_ZONE)
    assert [(w.load, w.stacked_sessions, w.high) for w in weeks] == [(2, 0, False)] * 4 + [(9, 1, True)]


def test_spacing_compares_short_and_long_gaps(db: Session, home: Home) -> None:
    hours_and_enjoyment = [(0, 8), (2, 5), (4, 4), (6, 3), (40, 8), (80, 9), (120, 7), (122, 4)]
    for hours, enjoyment in hours_and_enjoyment:
        at = MONDAY + timedelta(hours=hours)
        db.add(
            PleasureCheck(member_id=home.member.id or 0, name="Sweets", enjoyment=enjoyment, craving=5, logged_at=at)
        )
    db.commit()
    short, long = pleasures.spacing(db, home.member, "Sweets")
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
    assert "7.0 · 3 sessions" in page.text  # a mean has one decimal on every page
    assert "not enough sessions yet (1 of 3)" in page.text
    assert data["audit"]["heads"] == 3 and "<strong>3</strong> heads" in page.text
    assert '<svg viewBox="0 0 254' in page.text and 'role="img" aria-label="Enjoyment of the effort' in page.text


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
    monday = (now - timedelta(days=now.weekday())).strftime("%-d %B")  # weeks without a stacked session go unsaid
    assert f'<p class="meta">Sessions with two or more enhancers at once: 1 in the week of {monday}.</p>' in page.text
