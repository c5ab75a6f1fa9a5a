"""Against the limit, in one run, at 1, 10 and 50 connections: the limits (a bare Starlette page of Today's
size; a bare cycle of two durable SQLite writes), the app's own stack doing no work of the app's (the constant
page; a one-statement write cycle from the thread pool and from the event loop), then the real Today page, the
flip + reflection cycle and the insights page. Every row is a ratio to the bare page. Loopback only; bounded.

    .venv/bin/python -m bench.load [--requests 2000] [--seconds 20] [--workers 1]
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlmodel import Session, col

from app import demo, security, tokens
from app import habits as habits_domain
from app.cli import migrate
from app.config import Settings
from app.db import make_engine, open_session
from app.models import Habit, HabitEnhancer, Household, Member, Mode
from app.schemas import HabitIn
from bench.httpload import Connection, Result, run
from tests import factories

CONNECTIONS = (1, 10, 50)
SECRET = "benchmark-secret-key-0123456789"

# Today's member has the demo's two habits and these two, each with a year of sessions drawn by the real coin.
MORE_HABITS = (
    demo.DemoHabit(
        HabitIn(name="Reading (bench)", emoji="📖", why="A page a night adds up.", minimum="One page",
                mode=Mode.all_or_nothing, chance=0.5),
        ("Music", "Coffee"), 21,
    ),
    demo.DemoHabit(
        HabitIn(name="Stretching (bench)", emoji="🧘", why="Loose hips, fewer aches.", minimum="Five minutes",
                mode=Mode.each, chance=0.5, max_stack=2),
        ("Podcast", "Music"), 12,
    ),
)  # fmt: skip


@contextmanager
def serving(target: list[str], env: dict[str, str], workers: int) -> Iterator[str]:
    """The app served as `coinflip serve` serves it, in a child process on a free loopback port. (Not uvicorn's
    --fd: it takes such a socket for a Unix socket and leaves Nagle on, adding 40 ms delayed-ACK stalls.)"""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bench.serve", target[0], str(port), str(workers), *target[1:]]
    process = subprocess.Popen(command, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s for the server to start
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def prepare(
    data_dir: Path, cycles: int, members: int = 50, today_habits: int = 2
) -> tuple[str, int, list[tuple[int, str]]]:
    """A database for the benchmarks. Returns a login cookie for Ana, the id of her first habit, and `cycles`
    flippable habits of other members with each one's API token.

    Ana's Today shows the demo's two habits with 365 days of sessions drawn by the real coin (as `coinflip demo`
    gives them), or with `today_habits=4` two more like them. The flippable habits are one per flip cycle: a
    habit is flipped once per session, so no cycle can reuse one (and no two concurrent cycles share one)."""
    settings = Settings(data_dir=data_dir, secret_key=SECRET, backup_keep=0)
    migrate(settings)
    engine = make_engine(settings.db_url)
    with open_session(engine) as db:
        household = factories.make_household(db, "Bench")
        ana = factories.make_member(db, household, "Ana")
        rng, today = random.Random(1), datetime.now(UTC).date()
        made, _ = demo.add_demo(db, ana, ZoneInfo("UTC"), 365, rng, today)
        add_history(db, ana, MORE_HABITS[: max(0, today_habits - len(made))], 365, rng, today)
        cycle_habits = flippable_habits(db, household, cycles, members)
        login = security.start_login(db, household.id or 0, "bench", ana.id)
        db.commit()
        rich_id = made[0].id or 0
    engine.dispose()
    return login, rich_id, cycle_habits


def add_history(
    db: Session, member: Member, more: tuple[demo.DemoHabit, ...], days: int, rng: random.Random, today: date
) -> None:
    """More habits for the member, with `days` days of sessions each, drawn as `coinflip demo` draws its own."""
    own = {e.name.casefold(): e.id or 0 for e in habits_domain.enhancers_of_member(db, member)}
    made = []
    for kind in more:
        data = kind.habit.model_copy(update={"enhancer_ids": [own[n.casefold()] for n in kind.enhancers]})
        made.append(habits_domain.save_habit(db, member, Habit(member_id=member.id or 0, name=data.name), data))
    summary, zone = demo.Summary(), ZoneInfo("UTC")
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for habit, kind in zip(made, more, strict=True):
            if rng.random() < 0.2:
                continue  # a rest day
            at = demo.local(day, kind.hour, rng.randrange(60), zone)
            demo.session(db, member, habit, at, rng, 1 - back / days, summary)


def flippable_habits(db: Session, household: Household, count: int, members: int) -> list[tuple[int, str]]:
    """`count` habits never flipped, over `members` new members with two enhancers each; inserted in bulk."""
    result: list[tuple[int, str]] = []
    template = Habit(member_id=0, name="-").model_dump(exclude={"id"})
    for m in range(members):
        member = factories.make_member(db, household, f"Member {m}")
        enhancers = [factories.make_enhancer(db, member, name) for name in ("Music", "Coffee")]
        token = tokens.create(db, member)
        rows = [{**template, "member_id": member.id, "name": f"Habit {h}"} for h in range(count // members + 1)]
        db.execute(insert(Habit), rows)
        ids = db.execute(select(col(Habit.id)).where(col(Habit.member_id) == member.id)).scalars().all()
        db.execute(insert(HabitEnhancer), [{"habit_id": h, "enhancer_id": e.id} for h in ids for e in enhancers])
        db.commit()
        result += [(h or 0, token) for h in ids]
    return result[:count]


async def measure(url: str, name: str, work: object, requests: int, seconds: float) -> list[Result]:
    return [await run(name, url, work, c, requests, seconds) for c in CONNECTIONS]  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per measurement, at most")
    parser.add_argument("--seconds", type=float, default=20, help="per measurement, at most")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        login, rich, habits = prepare(Path(tmp), cycles=args.requests * len(CONNECTIONS))
        unused = iter(habits)
        env = {"COINFLIP_DATA_DIR": tmp, "COINFLIP_SECRET_KEY": SECRET, "COINFLIP_BACKUP_KEEP": "0"}
        cookie = {"Cookie": f"{security.LOGIN_COOKIE}={login}"}
        reflection = json.dumps({"effort": 7, "enjoyment": 8, "followed": "yes", "note": "bench"}).encode()

        async def today(conn: Connection, i: int) -> bool:
            return (await conn.request("GET", "/", cookie))[0] == 200

        async def insights_page(conn: Connection, i: int) -> bool:
            return (await conn.request("GET", f"/insights/habits/{rich}", cookie))[0] == 200

        def app_cycle(i: int) -> tuple[str, str, dict[str, str]]:
            habit_id, token = next(unused)  # a habit not flipped yet: its session is open
            bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return f"/api/v1/habits/{habit_id}/flips", "/api/v1/flips/{}/reflection", bearer

        flip_p99: dict[tuple[str, int], float] = {}
        with serving(["app.main:create_app", "--factory"], env, args.workers) as url:
            size = len(asyncio.run(first_page(url, cookie)))
            results_today = asyncio.run(measure(url, "today page", today, args.requests, args.seconds))
            results_cycle = measure_cycle(url, "flip + reflect cycle", app_cycle, reflection, args, flip_p99)
            results_insights = asyncio.run(measure(url, "insights page", insights_page, args.requests, args.seconds))

        async def bare(conn: Connection, i: int) -> bool:
            return (await conn.request("GET", "/"))[0] == 200

        async def constant(conn: Connection, i: int) -> bool:
            return (await conn.request("GET", "/constant"))[0] == 200

        def same_requests(flips: str, headers: dict[str, str]) -> Callable[[int], tuple[str, str, dict[str, str]]]:
            return lambda i: (flips, flips + "/{}", headers)

        # A bearer header, as the app's cycle sends: the CSRF check lets API calls through without a form token.
        bearer = {"Authorization": "Bearer -"}
        sized = {"BARE_PAGE_BYTES": str(size), "BARE_DB": str(Path(tmp) / "bare.db")}
        with serving(["bench.bare_app:stack_app", "--factory"], {**env, **sized}, args.workers) as url:
            results_stack = asyncio.run(measure(url, "app stack, constant page", constant, args.requests, args.seconds))
            results_stack += measure_cycle(
                url, "app stack, write cycle", same_requests("/api/constant/flips", bearer), b"", args, flip_p99
            )
            results_stack += measure_cycle(
                url, "app stack, write on loop", same_requests("/api/loop/flips", bearer), b"", args, flip_p99
            )
        with serving(["bench.bare_app:app"], sized, args.workers) as url:
            results_bare = asyncio.run(measure(url, f"bare starlette ({size} B)", bare, args.requests, args.seconds))
            results_bare_writes = measure_cycle(
                url, "bare write cycle", same_requests("/flips", {}), b"", args, flip_p99
            )

    print(f"# bench.load: {args.workers} worker(s), up to {args.requests} requests or {args.seconds} s each")
    baseline = {r.connections: r.rate for r in results_bare}
    report = []
    for group in (results_bare, results_bare_writes, results_stack, results_today, results_cycle, results_insights):
        for r in group:
            print(r.line(baseline[r.connections]))
            report.append(
                {
                    "name": r.name,
                    "connections": r.connections,
                    "rate": round(r.rate, 1),
                    "p50_ms": round(r.percentile(50), 2),
                    "p99_ms": round(r.percentile(99), 2),
                    "ratio": round(r.rate / baseline[r.connections], 3),
                    "errors": r.errors,
                }
            )
    for (name, c), p99 in flip_p99.items():
        print(f"{name + ', POST alone':<40} c={c:<3} p99 {p99:7.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def measure_cycle(
    url: str,
    name: str,
    requests_of: Callable[[int], tuple[str, str, dict[str, str]]],
    reflection: bytes,
    args: argparse.Namespace,
    flip_p99: dict[tuple[str, int], float],
) -> list[Result]:
    """A POST that creates a flip, then a PUT of its reflection, as one unit; at each connection count. The
    POST's own p99 goes into flip_p99."""
    results = []
    for c in CONNECTIONS:
        posts: list[float] = []
        cycle = write_cycle(requests_of, reflection, posts)
        results.append(asyncio.run(run(name, url, cycle, c, args.requests, args.seconds)))
        flip_p99[name, c] = sorted(posts)[int(0.99 * (len(posts) - 1))] * 1000
    return results


def write_cycle(
    requests_of: Callable[[int], tuple[str, str, dict[str, str]]], reflection: bytes, posts: list[float]
) -> Callable[[Connection, int], Awaitable[bool]]:
    async def cycle(conn: Connection, i: int) -> bool:
        flip_path, reflection_path, headers = requests_of(i)
        loop = asyncio.get_running_loop()
        start = loop.time()
        status, body = await conn.request("POST", flip_path, headers)
        posts.append(loop.time() - start)
        if status not in (200, 201):
            return False
        flip_id = json.loads(body)["id"]
        status, _ = await conn.request("PUT", reflection_path.format(flip_id), headers, reflection)
        return status == 200

    return cycle


async def first_page(url: str, headers: dict[str, str]) -> bytes:
    conn = await Connection.open(url)
    try:
        status, body = await conn.request("GET", "/", headers)
        assert status == 200, status
        return body
    finally:
        conn.close()


if __name__ == "__main__":
    main()
