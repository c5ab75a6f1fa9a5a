"""Faults and load against real servers: SIGKILL mid-run loses nothing acknowledged; racing clients on two
workers see no locking errors and never two open flips. Bounded in count and time; loopback only."""

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from app import security
from app.config import Settings
from app.models import Flip, Habit, Reflection
from tests import factories
from tests.conftest import POSTGRES_URL, Home, Server

CLIENTS = 20
ROUNDS = 40  # per client at most: the run is bounded even if the kill never came
KILL_AFTER = 150  # acknowledged writes


@dataclass
class Acknowledged:
    lock: threading.Lock = field(default_factory=threading.Lock)
    flips: set[int] = field(default_factory=set)
    reflections: dict[int, str] = field(default_factory=dict)
    enough: threading.Event = field(default_factory=threading.Event)

    def add(self, record: Callable[[], None]) -> None:
        with self.lock:
            record()
            if len(self.flips) + len(self.reflections) >= KILL_AFTER:
                self.enough.set()


def habits_with_tokens(db: Session, home: Home, count: int) -> list[tuple[int, str]]:
    token = security.create_api_token(db, home.member)
    db.commit()
    return [(factories.make_habit(db, home.member, f"Habit {i}").id or 0, token) for i in range(count)]


def test_a_killed_server_keeps_every_acknowledged_flip_and_reflection(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    work = habits_with_tokens(db, home, CLIENTS)
    acked = Acknowledged()
    server = Server(settings, tmp_path)

    def client(habit_id: int, token: str) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
            for round_ in range(ROUNDS):
                try:
                    flip = http.post(
                        f"/api/v1/habits/{habit_id}/flips", headers={"Idempotency-Key": f"{habit_id}-{round_}"}
                    )
                    if flip.status_code not in (200, 201):
                        return
                    flip_id = flip.json()["id"]
                    acked.add(lambda flip_id=flip_id: acked.flips.add(flip_id))
                    note = f"habit {habit_id} round {round_}"
                    body = {"effort": 5, "enjoyment": 6, "followed": "yes", "note": note}
                    if http.put(f"/api/v1/flips/{flip_id}/reflection", json=body).status_code != 200:
                        return
                    acked.add(lambda flip_id=flip_id, note=note: acked.reflections.__setitem__(flip_id, note))
                except httpx.HTTPError:
                    return  # the server is gone: what was acknowledged is what counts

    with ThreadPoolExecutor(CLIENTS) as pool:
        for habit_id, token in work:
            pool.submit(client, habit_id, token)
        assert acked.enough.wait(timeout=120), "the clients never got going"
        server.kill()
    assert len(acked.flips) >= KILL_AFTER // 2

    restarted = Server(settings, tmp_path)
    try:
        assert httpx.get(f"{restarted.url}/healthz", timeout=30).status_code == 200
    finally:
        restarted.stop()
    db.commit()
    stored = set(db.exec(select(Flip.id).where(col(Flip.id).in_(acked.flips))))
    assert stored == acked.flips
    notes = {
        r.flip_id: r.note
        for r in db.exec(select(Reflection).where(col(Reflection.flip_id).in_(list(acked.reflections))))
    }
    assert notes == acked.reflections
    if not POSTGRES_URL:
        with sqlite3.connect(settings.data_dir / "coinflip.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


PHONES = 50  # concurrent clients
HABITS = 10  # each raced by five phones of the same member
RACE_ROUNDS = 8


def test_racing_phones_on_two_workers_share_one_open_flip(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    work = habits_with_tokens(db, home, HABITS)
    server = Server(settings, tmp_path, workers=2)
    errors: list[str] = []
    seen: dict[tuple[int, int], set[int]] = {}
    seen_lock = threading.Lock()
    barrier = threading.Barrier(PHONES, timeout=60)

    def phone(index: int) -> None:
        habit_id, token = work[index % HABITS]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for round_ in range(RACE_ROUNDS):
                barrier.wait()  # every phone taps at the same moment
                response = http.post(f"/api/v1/habits/{habit_id}/flips")
                if response.status_code not in (200, 201):
                    errors.append(f"flip {response.status_code}: {response.text[:200]}")
                    continue
                flip_id = response.json()["id"]
                with seen_lock:
                    seen.setdefault((habit_id, round_), set()).add(flip_id)
                barrier.wait()  # all have their verdict; the first phone of each habit reflects
                if index < HABITS:
                    body = {"effort": 7, "enjoyment": 7, "followed": "yes", "note": f"round {round_}"}
                    reflected = http.put(f"/api/v1/flips/{flip_id}/reflection", json=body)
                    if reflected.status_code != 200:
                        errors.append(f"reflect {reflected.status_code}: {reflected.text[:200]}")
                barrier.wait()

    try:
        with ThreadPoolExecutor(PHONES) as pool:
            list(pool.map(phone, range(PHONES)))
    finally:
        server.stop()
    assert errors == []
    # Every racing tap on a habit got the same flip: one draw per habit and round, no duplicates.
    assert all(len(ids) == 1 for ids in seen.values()), {k: v for k, v in seen.items() if len(v) > 1}
    assert len(seen) == HABITS * RACE_ROUNDS
    db.commit()
    habit_ids = [h for h, _ in work]
    flips = db.exec(select(Flip).where(col(Flip.habit_id).in_(habit_ids))).all()
    assert len(flips) == HABITS * RACE_ROUNDS and all(f.closed_at is not None for f in flips)
    assert len(db.exec(select(Reflection)).all()) == HABITS * RACE_ROUNDS
    assert db.exec(select(Habit).where(col(Habit.id).in_(habit_ids))).all()


CROWD = 120  # more at once than the thread pool has threads (40) and the pool has connections


def test_a_crowd_of_page_views_never_waits_for_a_connection(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    """Requests hold a connection across thread-pool hops. When more came at once than there were threads
    and connections, threads waiting for a connection filled the pool while the holders waited for a
    thread: every request then waited for the pool's 30 s timeout. Now they wait on the event loop."""
    server = Server(settings, tmp_path)
    cookies = {security.LOGIN_COOKIE: home.token}

    async def crowd() -> list[int]:
        limits = httpx.Limits(max_connections=CROWD)
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=20, limits=limits) as http:
            assert (await http.get("/healthz")).status_code == 200  # the server is up
            responses = await asyncio.gather(*(http.get("/") for _ in range(CROWD)), return_exceptions=True)
        return [r.status_code if isinstance(r, httpx.Response) else 0 for r in responses]

    try:
        statuses = asyncio.run(crowd())
    finally:
        server.stop()
    assert statuses == [200] * CROWD
