"""Two replicas on one database: draws and reflections that meet at the same moment, interleaved step by step.

Each test lets one request finish in the middle of another's (no threads, no sleeps): what two replicas do
when the second one's transaction has already begun as the first one commits.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app import flips
from app.db import Sql, make_engine, open_session
from app.models import Flip, Followed, Habit, Member
from app.schemas import ReflectionIn
from tests import factories
from tests.conftest import POSTGRES_URL, Home

postgresql_only = pytest.mark.skipif(not POSTGRES_URL, reason="row locks and isolation levels are PostgreSQL's")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SAVED = ReflectionIn(effort=8, enjoyment=7, followed=Followed.yes, note="Leaned into the hill.")
OTHER = ReflectionIn(effort=3, enjoyment=4, followed=Followed.no, note="From the other phone.")


@pytest.fixture
def habit(db: Session, home: Home) -> Habit:
    return factories.make_flippable_habit(db, home.member)


@pytest.fixture
def strict_server() -> Iterator[Engine]:
    """The app's engine on a server whose default isolation is stricter than READ COMMITTED (a self-hoster's
    `default_transaction_isolation`, or a managed service's): the app must not depend on the default."""
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).update_query_dict({"options": "-c default_transaction_isolation=serializable"})
    engine = make_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def open_flip(db: Session, habit: Habit, member: Member) -> Flip:
    view, _ = flips.flip_habit(Sql.of(db), habit, member, random.Random(1), NOW)
    db.commit()
    return view.flip


@postgresql_only
def test_a_reflection_saved_meanwhile_by_another_replica_is_a_conflict_not_an_error(
    strict_server: Engine, home: Home, habit: Habit
) -> None:
    """Two phones reflect on one flip through two replicas. The second request has read the flip (its
    transaction began) when the first one saves. Under REPEATABLE READ or SERIALIZABLE its lock on the flip then
    failed ("could not serialize access due to concurrent update": a 500); the locks and the fresh reads after
    them are written for READ COMMITTED, so the engine asks for it, whatever the server's default."""
    with open_session(strict_server) as setup:
        flip_id = open_flip(setup, habit, home.member).id
    with open_session(strict_server) as second:
        seen = second.get(Flip, flip_id)  # the OwnedFlip lookup: the transaction has begun
        assert seen is not None
        with open_session(strict_server) as first:
            first_flip = first.get(Flip, flip_id)
            assert first_flip is not None
            flips.save_reflection(Sql.of(first), first_flip, SAVED, NOW, None)
            first.commit()
        with pytest.raises(flips.ReflectionConflict) as refused:
            flips.save_reflection(Sql.of(second), seen, OTHER, NOW, None)
    assert refused.value.saved is not None and refused.value.saved.note == SAVED.note


@postgresql_only
def test_a_second_draw_waiting_on_another_replica_shows_its_verdict(
    strict_server: Engine, home: Home, habit: Habit
) -> None:
    """The same for a draw: one begun before another replica's draw committed answers with that verdict."""
    with open_session(strict_server) as second:
        member = second.get(Member, home.member.id)
        seen = second.get(Habit, habit.id)
        assert member is not None and seen is not None
        with open_session(strict_server) as first:
            winner = open_flip(first, habit, home.member)
        shown, fresh = flips.flip_habit(Sql.of(second), seen, member, random.Random(2), NOW)
    assert (shown.flip.id, fresh) == (winner.id, False)


@postgresql_only
def test_one_key_sent_for_two_habits_at_once_is_refused_not_an_error(
    app: FastAPI, db: Session, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Idempotency-Key, sent for two habits' open flips through two replicas at once: each request holds
    only its own habit's lock, and both find the key unused. The one that gives its flip the key second used
    to meet the database's one-flip-per-key constraint outside the draw's retry (a 500); now it is answered
    as if it had come second: the key belongs to another habit's flip (422). (On SQLite the write lock makes
    the two one after the other: tests/test_api.py checks that answer.)"""
    run = factories.make_flippable_habit(db, home.member, "Run")
    gym = factories.make_flippable_habit(db, home.member, "Gym")
    with open_session(app.state.engine) as setup:
        open_flip(setup, run, home.member)
        open_flip(setup, gym, home.member)
    unused_yet = flips.flip_by_key

    def other_replica_takes_the_key_meanwhile(sql: Sql, member: Member, key: str) -> Flip | None:
        found = unused_yet(sql, member, key)
        monkeypatch.setattr(flips, "flip_by_key", unused_yet)
        with open_session(app.state.engine) as other:
            flips.flip_habit(Sql.of(other), run, home.member, random.Random(3), NOW, key)
            other.commit()
        return found

    monkeypatch.setattr(flips, "flip_by_key", other_replica_takes_the_key_meanwhile)
    with open_session(app.state.engine) as second, pytest.raises(flips.KeyReused):
        flips.flip_habit(Sql.of(second), gym, home.member, random.Random(4), NOW, "tap-1")
    db.commit()
    assert flips.flip_by_key(Sql.of(db), home.member, "tap-1") is not None
