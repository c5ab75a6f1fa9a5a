"""Faults and load against real servers: SIGKILL mid-run loses nothing acknowledged; racing clients on two
workers see no locking errors and never two open flips. Bounded in count and time; loopback only."""

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from app import security, tokens
from app.config import Settings
from app.models import Flip, Habit, Reflection
from tests import factories
from tests.conftest import POSTGRES_URL, Home, Server

CLIENTS = 20
ROUNDS = 8  # per client at most, one habit each (one flip per habit and day): bounded even if the kill never came
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
    """Flippable habits (one enhancer is enough), each with the member's token."""
    token = tokens.create(db, home.member)
    music = factories.make_enhancer(db, home.member, "Music")
    return [(factories.make_habit(db, home.member, f"Habit {i}", [music]).id or 0, token) for i in range(count)]


def test_a_killed_server_keeps_every_acknowledged_flip_and_reflection(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    work = habits_with_tokens(db, home, CLIENTS * ROUNDS)
    acked = Acknowledged()
    server = Server(settings, tmp_path)

    def client(first: int, token: str) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
            for round_ in range(ROUNDS):
                habit_id = work[first + round_][0]
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
        for first in range(0, CLIENTS * ROUNDS, ROUNDS):
            pool.submit(client, first, work[first][1])
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
RACE_ROUNDS = 8  # a new habit for each: one flip per habit and day


def test_racing_phones_on_two_workers_share_one_open_flip(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    work = habits_with_tokens(db, home, HABITS * RACE_ROUNDS)
    server = Server(settings, tmp_path, workers=2)
    errors: list[str] = []
    seen: dict[tuple[int, int], set[int]] = {}
    closed: dict[int, set[tuple[int, str]]] = {}  # habit -> (status, next_flip_at) of the taps after reflecting
    seen_lock = threading.Lock()
    barrier = threading.Barrier(PHONES, timeout=60)

    def phone(index: int) -> None:
        token = work[0][1]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for round_ in range(RACE_ROUNDS):
                habit_id = work[round_ * HABITS + index % HABITS][0]
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
                barrier.wait()  # reflected: every phone taps again at once, and none may draw a new coin
                again = http.post(f"/api/v1/habits/{habit_id}/flips")
                with seen_lock:
                    closed.setdefault(habit_id, set()).add((again.status_code, again.json().get("next_flip_at", "")))

    try:
        with ThreadPoolExecutor(PHONES) as pool:
            list(pool.map(phone, range(PHONES)))
    finally:
        server.stop()
    assert errors == []
    # Every racing tap on a habit got the same flip: one draw per habit and round, no duplicates.
    assert all(len(ids) == 1 for ids in seen.values()), {k: v for k, v in seen.items() if len(v) > 1}
    assert len(seen) == HABITS * RACE_ROUNDS
    # After its reflection, every tap on a habit was refused alike: the session stays closed.
    assert all(len(answers) == 1 and next(iter(answers))[0] == 409 for answers in closed.values()), closed
    db.commit()
    habit_ids = [h for h, _ in work]
    flips = db.exec(select(Flip).where(col(Flip.habit_id).in_(habit_ids))).all()
    assert len(flips) == HABITS * RACE_ROUNDS and all(f.closed_at is not None for f in flips)
    assert len(db.exec(select(Reflection)).all()) == HABITS * RACE_ROUNDS
    assert db.exec(select(Habit).where(col(Habit.id).in_(habit_ids))).all()


TAPS = 70  # at once, on one habit


def test_seventy_taps_at_once_on_one_habit_draw_one_verdict(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    """Seventy clients tap Flip on the same habit at the same moment, through two worker processes (each with
    its own writer): one flip is drawn, every tap is answered with it, and no tap fails."""
    [(habit_id, token)] = habits_with_tokens(db, home, 1)
    server = Server(settings, tmp_path, workers=2)
    barrier = threading.Barrier(TAPS, timeout=60)

    def tap(_: int) -> tuple[int, int, tuple[tuple[str, bool], ...]]:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            response = http.post(f"/api/v1/habits/{habit_id}/flips")
            body = response.json()
            return response.status_code, body["id"], tuple((e["name"], e["allowed"]) for e in body["enhancers"])

    try:
        with ThreadPoolExecutor(TAPS) as pool:
            answers = list(pool.map(tap, range(TAPS)))
    finally:
        server.stop()
    assert sorted(status for status, _, _ in answers) == [200] * (TAPS - 1) + [201]
    assert len({(flip_id, verdict) for _, flip_id, verdict in answers}) == 1
    db.commit()
    assert len(db.exec(select(Flip).where(Flip.habit_id == habit_id)).all()) == 1


CROWD = 120  # more at once than the thread pool has threads (40) and the pool has connections


def test_a_crowd_of_page_views_never_waits_for_a_connection(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    """Once, requests held a connection across thread-pool hops: when more came at once than there were
    threads and connections, every request waited for the pool's 30 s timeout. Now a request holds a
    connection only inside one read or one write (app.db), and a crowd is simply served."""
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


SAVES = 30  # concurrent saves of one reflection


def test_concurrent_saves_of_one_reflection_on_two_workers_never_fail_or_overwrite(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    """Thirty phones save thirty different reflections of one flip at the same moment: one is saved, every other
    is told so (409, with the saved one), none is a 5xx. Then thirty edits naming version 1: one wins, the rest
    are stale (412)."""
    [(habit_id, token)] = habits_with_tokens(db, home, 1)
    server = Server(settings, tmp_path, workers=2)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        flip = httpx.post(f"{server.url}/api/v1/habits/{habit_id}/flips", headers=headers, timeout=30).json()
        url = f"{server.url}/api/v1/flips/{flip['id']}/reflection"
        barrier = threading.Barrier(SAVES, timeout=60)

        def save(index: int, extra: dict[str, str]) -> tuple[int, dict[str, object]]:
            body = {"effort": 5, "enjoyment": 6, "followed": "yes", "note": f"phone {index}"}
            with httpx.Client(headers={**headers, **extra}, timeout=30) as http:
                barrier.wait()
                response = http.put(url, json=body)
                return response.status_code, response.json()

        with ThreadPoolExecutor(SAVES) as pool:
            first = list(pool.map(lambda i: save(i, {}), range(SAVES)))
        with ThreadPoolExecutor(SAVES) as pool:
            edits = list(pool.map(lambda i: save(SAVES + i, {"If-Match": '"1"'}), range(SAVES)))
        final = httpx.get(f"{server.url}/api/v1/flips/{flip['id']}", headers=headers, timeout=30)
    finally:
        server.stop()
    assert sorted(status for status, _ in first) == [200] + [409] * (SAVES - 1)
    [(_, winner)] = [(s, body) for s, body in first if s == 200]
    saved = winner["reflection"]
    assert all(body["reflection"] == saved for s, body in first if s == 409)  # each was shown the saved one
    assert sorted(status for status, _ in edits) == [200] + [412] * (SAVES - 1)
    [(_, edit)] = [(s, body) for s, body in edits if s == 200]
    assert final.json()["reflection"] == edit["reflection"] and final.headers["etag"] == '"2"'


def test_a_body_sent_slowly_holds_up_no_one_elses_write(
    settings: Settings, db: Session, home: Home, tmp_path: Path
) -> None:
    """A stranger opens the login form and sends its answer a few bytes at a time (here: never the rest). Its
    body is read before its write is queued for the writer, so another household's flip goes through meanwhile."""
    [(habit_id, token)] = habits_with_tokens(db, home, 1)
    server = Server(settings, tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as stranger:
            page = stranger.get("/login").text
            csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
            cookies = "; ".join(f"{k}={v}" for k, v in stranger.cookies.items())
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as slow:
            head = (
                f"POST /login HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\nX-CSRF-Token: {csrf}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nname=Riv"
            )
            slow.sendall(head.encode())
            flip = httpx.post(
                f"{server.url}/api/v1/habits/{habit_id}/flips", headers={"Authorization": f"Bearer {token}"},
                timeout=15,
            )  # fmt: skip
            assert flip.status_code == 201
    finally:
        server.stop()
