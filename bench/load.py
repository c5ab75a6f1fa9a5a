"""Issue 14's load benchmark: the app against its limits, with the load generator outside Python.

The client is wrk (Debian's), driven by the LuaJIT scripts in bench/wrk/; the servers are uvicorn as
`coinflip serve` runs it (bench.serve: auto loop and HTTP parser, so uvloop and httptools when installed). In
one run, at 1, 10 and 50 connections, each measurement for --seconds:

- the bare page: a bare Starlette page of exactly Today's byte size (bench.bare_app), the reference of every
  ratio;
- Today: the app's Today page, logged in by cookie, of a member with 4 habits and a year of history each;
- flip + reflection: through the JSON API, POST /api/v1/habits/{id}/flips then PUT /api/v1/flips/{id}/reflection
  on the flip the POST answered, each cycle on a habit never flipped before; counted as cycles per second and
  as cycles per bare request;
- the bare write cycle (the limits of a durable write, bench.bare_app): serial, one durable SQLite commit per
  request; and with group commit, one commit per batch of waiting requests;
- at 10 connections, FastAPI's floor (bench.bare_app's `floor`): the bare page and the group-commit cycle as
  FastAPI routes doing nothing else, the reflection's body validated: what the framework the app is built on
  costs before the app does anything.

Then, at 50 connections, flip POSTs alone (the app's, the bare serial and group commit ones), each on a habit
never flipped: the flip POST's p99. wrk times every request but reports them only together, and a cycle's
POSTs and PUTs differ, so the POST's own percentiles need a run of POSTs alone (under 50 other POSTs, not under
a mix of POSTs and PUTs). Last, the app server's resident memory (VmRSS) after the run.

wrk gives its Lua script no way to tell which connection an answer came on, so the write runs give each
connection a wrk thread of its own (its own Lua state and habits): a thread's answers are its connection's, in
order. The pages use one wrk thread for all connections (--threads; on 2 cores, one thread per connection moved
the bare page by under 10 %, up at 10 connections, down at 50). A cycle counts when its PUT answers 200; any
other answer, a dropped or timed-out request or a thread that ran out of habits is an error, shown on its row.

For each connection count the measurements run one right after the other (bare page, Today, the app's cycle,
the bare cycles), so the machine's noise hits the app and its references alike; each waits for the server it
measured before to go idle, and each row says how much CPU other processes took meanwhile. The habits to flip
are prepared for --max-rate cycles a second (about 200,000 at the defaults). Loopback only; every run bounded
by time: about 3 minutes at the defaults.

    .venv/bin/python -m bench.load [--seconds 8] [--workers 1] [--threads 1] [--max-rate 4000] [--json FILE]
"""

import argparse
import json
import math
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
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
from tests import factories

CONNECTIONS = (1, 10, 50)
POST_CONNECTIONS = 50  # the flip POST's p99 is reported at this many connections
FLOOR_CONNECTIONS = 10  # FastAPI's floor is measured at this many connections, the targets'
FLOOR_CYCLE = ("/group/flips", "/group/flips/%d")
SECRET = "benchmark-secret-key-0123456789"
WRK = "wrk"
WRK_SCRIPTS = Path(__file__).parent / "wrk"
WRK_TIMEOUT = "10s"  # an answer slower than this counts as a timeout error
REFLECTION = json.dumps({"effort": 7, "enjoyment": 8, "followed": "yes", "note": "bench"}, separators=(",", ":"))
TICK = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these
SPARE = 1.25  # habits prepared beyond --max-rate × --seconds, for threads that go faster than the average

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


@dataclass(frozen=True)
class Options:
    seconds: int
    workers: int
    threads: int
    max_rate: int
    json: Path | None

    @classmethod
    def parse(cls) -> "Options":
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--seconds", type=int, default=8, help="per measurement (default 8)")
        parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server (default 1)")
        parser.add_argument("--threads", type=int, default=1, help="wrk threads for the pages (default 1)")
        parser.add_argument("--max-rate", type=int, default=4000, help="cycles/s the habits are prepared for")
        parser.add_argument("--json", type=Path, help="also write the results here")
        return cls(**vars(parser.parse_args()))


# Data


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


# Servers


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self) -> None:
        """Stop the run if the server has exited (it would measure nothing, or another process on the port)."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the server {self.url} (pid {self.pid}) exited with {self.process.returncode}")


@contextmanager
def server(target: list[str], env: dict[str, str], workers: int) -> Iterator[Server]:
    """The app served as `coinflip serve` serves it, in a child process on a free loopback port. (Not uvicorn's
    --fd: it takes such a socket for a Unix socket and leaves Nagle on, adding 40 ms delayed-ACK stalls.)"""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bench.serve", target[0], str(port), str(workers), *target[1:]]
    process = subprocess.Popen(command, env={**os.environ, **env})
    try:
        for _ in range(300):  # up to 30 s for the server to start
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def serving(target: list[str], env: dict[str, str], workers: int) -> Iterator[str]:
    """The served app's base URL (for the benchmarks that bring their own client)."""
    with server(target, env, workers) as served:
        yield served.url


def processes(pid: int) -> list[int]:
    """The process and its descendants (a server's workers, with --workers N)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found = [pid]
    for candidate in found:
        found += [child for child, parent in parents.items() if parent == candidate]
    return found


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def settle(served: Server, limit: float = 10.0) -> None:
    """Wait until the server has used no CPU for 0.2 s (requests abandoned at the end of a wrk run are still
    being answered), at most `limit` seconds."""
    pids = processes(served.pid)
    deadline = time.monotonic() + limit
    last = cpu_ticks(pids)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_ticks(pids)
        if now == last:
            return
        last = now


def memory_kib(served: Server) -> dict[str, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), summed over the server's processes."""
    served.check()
    total = {"VmRSS": 0, "VmHWM": 0}
    for pid in processes(served.pid):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in total:
                total[name] += int(value.split()[0])
    return {"rss_kib": total["VmRSS"], "peak_rss_kib": total["VmHWM"]}


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores together (/proc/stat)."""
    user, nice, system, _, _, irq, softirq, steal = (int(x) for x in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class Others:
    """How busy the rest of the machine is: its busy CPU time less ours (this process, its finished wrk runs,
    the servers), as a share of all its cores over the same wall time. The client and the servers share the
    machine with whatever else runs on it; a share above a few percent is noise in that row."""

    servers: list[Server]

    def ours(self) -> float:
        me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        servers = sum(cpu_ticks(processes(s.pid)) for s in self.servers) / TICK
        return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime + servers

    def now(self) -> tuple[float, float, float]:
        return time.monotonic(), machine_busy(), self.ours()

    def share_since(self, then: tuple[float, float, float]) -> float:
        (wall, busy, ours), (wall0, busy0, ours0) = self.now(), then
        return max(0.0, (busy - busy0) - (ours - ours0)) / ((wall - wall0) * (os.cpu_count() or 1))


# wrk


@dataclass
class Measurement:
    name: str
    kind: str  # "page", "cycle" (flip + reflection) or "post" (flips alone)
    connections: int
    wrk: dict[str, int]  # the BENCH line of bench/wrk/report.lua
    ratio: float | None = None  # rate / the bare page's at the same connection count (not for lone POSTs)
    others: float = 0.0  # the rest of the machine's share of its CPU meanwhile (Others)
    error_counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        names = ["connect", "read", "write", "timeout", "unexpected", "bad_flips", "bad_reflections", "lost"]
        self.error_counts = {n: self.wrk[n] for n in names if self.wrk.get(n)}
        if self.wrk.get("exhausted"):
            self.error_counts["threads out of habits"] = self.wrk["exhausted"]

    @property
    def done(self) -> int:
        """Units of work done right: pages answered 200, cycles whose PUT answered 200, flips POSTed."""
        return {
            "page": self.wrk["requests"] - self.wrk.get("unexpected", 0),
            "cycle": self.wrk.get("cycles", 0),
            "post": self.wrk.get("flips", 0),
        }[self.kind]

    @property
    def rate(self) -> float:
        return self.done / (self.wrk["duration_us"] / 1e6)

    @property
    def errors(self) -> int:
        return sum(self.error_counts.values())

    def percentile_ms(self, p: int) -> float:
        return self.wrk[f"p{p}_us"] / 1000

    def line(self) -> str:
        unit = {"page": "req/s", "cycle": "cycles/s", "post": "flips/s"}[self.kind]
        ratio = f"{self.ratio:7.3f}x" if self.ratio is not None else "        "
        detail = f"  ({', '.join(f'{k} {v}' for k, v in self.error_counts.items())})" if self.errors else ""
        return (
            f"{self.name:<30} c={self.connections:<3} {self.rate:8.0f} {unit:<9} p50 {self.percentile_ms(50):8.2f} ms"
            f"  p99 {self.percentile_ms(99):8.2f} ms  errors {self.errors:<4} {ratio}"
            f"  others {self.others:4.0%}{detail}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "connections": self.connections,
            "rate": round(self.rate, 1),
            "p50_ms": self.percentile_ms(50),
            "p99_ms": self.percentile_ms(99),
            "errors": self.errors,
            "error_counts": self.error_counts,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "others_cpu_share": round(self.others, 3),
            "wrk": self.wrk,
        }


def wrk(
    url: str, script: str, connections: int, threads: int, seconds: int, options: list[str], args: list[str]
) -> dict[str, int]:
    """Run wrk once; the counts its script reports. `options`: more of wrk's; `args`: the script's."""
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT}"]
    command += ["-s", str(WRK_SCRIPTS / script), *options, url, "--", *args]
    env = {**os.environ, "LUA_PATH": f"{WRK_SCRIPTS}/?.lua;;"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    counts: dict[str, int] = json.loads(line.removeprefix("BENCH "))
    return counts


def per_thread(args: Options, kind: str, connections: int) -> int:
    """Habits for each thread of a write run: enough for --max-rate cycles (twice as many lone POSTs) a second."""
    return math.ceil(args.seconds * args.max_rate * SPARE * (2 if kind == "post" else 1) / connections)


def habits_needed(args: Options) -> int:
    runs = [("cycle", c) for c in CONNECTIONS] + [("post", POST_CONNECTIONS)]
    return args.max_rate + sum(per_thread(args, kind, c) * c for kind, c in runs)  # the warm-up's first


class HabitFiles:
    """Hands out the prepared habits, each once: per wrk run, one file per thread (`<prefix>-<i>.txt`)."""

    def __init__(self, habits: list[tuple[int, str]], folder: Path) -> None:
        self.habits, self.next, self.folder = habits, 0, folder

    def take(self, name: str, threads: int, per_thread: int) -> str:
        prefix = self.folder / name
        for i in range(threads):
            chunk = self.habits[self.next : self.next + per_thread]
            self.next += per_thread
            Path(f"{prefix}-{i}.txt").write_text("".join(f"{h} {token}\n" for h, token in chunk))
        return str(prefix)


APP_FLIP, APP_REFLECTION = "/api/v1/habits/%d/flips", "/api/v1/flips/%d/reflection"


@dataclass
class Bench:
    """The servers (the app, the bare one and the floor), and what the run needs to measure them."""

    args: Options
    app: Server
    bare: Server
    floor: Server
    cookie: str  # the header that logs the app's Today in
    habits: HabitFiles
    others: Others
    measurements: list[Measurement] = field(default_factory=list)
    bare_rate: dict[int, float] = field(default_factory=dict)  # the bare page's req/s, by connections

    def page(self, name: str, served: Server, c: int, headers: list[str]) -> Measurement:
        options = [x for h in headers for x in ("-H", h)]
        before = self.others.now()
        counts = wrk(served.url, "page.lua", c, min(self.args.threads, c), self.args.seconds, options, [])
        return self.record(Measurement(name, "page", c, counts, others=self.others.share_since(before)), served)

    def writes(self, name: str, kind: str, served: Server, c: int, flip_path: str, reflection_path: str) -> Measurement:
        """A write run: one wrk thread per connection, so each thread's answers are its connection's."""
        habits = "-"
        if "%d" in flip_path:
            habits = self.habits.take(f"{kind}-{c}", c, per_thread(self.args, kind, c))
        args = ["cycle" if kind == "cycle" else "post", flip_path, reflection_path, habits, REFLECTION]
        before = self.others.now()
        counts = wrk(served.url, "cycle.lua", c, c, self.args.seconds, [], args)
        return self.record(Measurement(name, kind, c, counts, others=self.others.share_since(before)), served)

    def record(self, measurement: Measurement, served: Server) -> Measurement:
        served.check()
        settle(served)
        if measurement.name.startswith("bare page"):
            self.bare_rate[measurement.connections] = measurement.rate
        if measurement.kind != "post":
            measurement.ratio = measurement.rate / self.bare_rate[measurement.connections]
        self.measurements.append(measurement)
        print(f"  {measurement.line()}", file=sys.stderr, flush=True)
        return measurement

    def app_writes(self, c: int, kind: str) -> Measurement:
        name = "flip + reflection" if kind == "cycle" else "flip POST alone"
        return self.writes(name, kind, self.app, c, APP_FLIP, APP_REFLECTION)

    def bare_writes(self, c: int, kind: str, group: bool) -> Measurement:
        prefix, how = ("/group", "group commit") if group else ("", "serial")
        name = f"bare {'writes' if kind == 'cycle' else 'POST alone'}, {how}"
        return self.writes(name, kind, self.bare, c, f"{prefix}/flips", f"{prefix}/flips/%d")

    def run(self, page_bytes: int) -> None:
        """Interleaved: at each connection count, the bare page and right after it everything compared to it."""
        for c in CONNECTIONS:
            self.page(f"bare page ({page_bytes} B)", self.bare, c, [])
            self.page("Today (4 habits)", self.app, c, [self.cookie])
            self.app_writes(c, "cycle")
            self.bare_writes(c, "cycle", False)
            self.bare_writes(c, "cycle", True)
            if c == FLOOR_CONNECTIONS:
                self.page("FastAPI floor page", self.floor, c, [])
                self.writes("FastAPI floor writes", "cycle", self.floor, c, *FLOOR_CYCLE)
        self.app_writes(POST_CONNECTIONS, "post")
        self.bare_writes(POST_CONNECTIONS, "post", False)
        self.bare_writes(POST_CONNECTIONS, "post", True)

    def warm_up(self) -> None:
        """A second of each page and of the app's cycle, not reported: imports, caches, the first connections."""
        wrk(self.bare.url, "page.lua", 10, 1, 1, [], [])
        wrk(self.floor.url, "page.lua", 10, 1, 1, [], [])
        wrk(self.app.url, "page.lua", 10, 1, 1, ["-H", self.cookie], [])
        habits = self.habits.take("warm-up", 1, self.args.max_rate)
        wrk(self.app.url, "cycle.lua", 1, 1, 1, [], ["cycle", APP_FLIP, APP_REFLECTION, habits, REFLECTION])
        for served in (self.app, self.bare, self.floor):
            settle(served)


# The run


def today_page(url: str, cookie: str) -> bytes:
    """Today as wrk gets it (uncompressed: wrk sends no Accept-Encoding), checked to show all four habits."""
    request = urllib.request.Request(url + "/", headers=dict([cookie.split(": ", 1)]))  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback, http)
        assert response.status == 200, response.status
        body: bytes = response.read()
    names = [d.habit.name for d in MORE_HABITS] + ["Morning run (sample)", "Gym (sample)"]
    missing = [n for n in names if n.encode() not in body]
    assert not missing, f"Today lacks {missing}"
    return body


def page_size(url: str) -> int:
    with urllib.request.urlopen(url + "/", timeout=30) as response:  # noqa: S310 (loopback, http)
        return len(response.read())


def first_line(command: list[str]) -> str:
    """What a command says of itself (git's commit, wrk's version), or "unknown"."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    said = (done.stdout or done.stderr).strip()
    return said.splitlines()[0].split(" Copyright")[0] if said else "unknown"


def main() -> None:
    args = Options.parse()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        login, _, habits = prepare(folder, cycles=habits_needed(args), today_habits=4)
        print(f"# prepared in {time.monotonic() - started:.0f} s: {len(habits)} habits to flip", file=sys.stderr)
        env = {"COINFLIP_DATA_DIR": tmp, "COINFLIP_SECRET_KEY": SECRET, "COINFLIP_BACKUP_KEEP": "0"}
        app = stack.enter_context(server(["app.main:create_app", "--factory"], env, args.workers))
        cookie = f"Cookie: {security.LOGIN_COOKIE}={login}"
        size = len(today_page(app.url, cookie))
        sized = {"BARE_PAGE_BYTES": str(size), "BARE_DB": str(folder / "bare.db")}
        bare = stack.enter_context(server(["bench.bare_app:app"], sized, args.workers))
        assert page_size(bare.url) == size, "the bare page is not Today's size"
        floored = {**sized, "BARE_GROUP_DB": str(folder / "floor.db")}
        floor = stack.enter_context(server(["bench.bare_app:floor"], floored, args.workers))
        assert page_size(floor.url) == size, "the floor's page is not Today's size"
        bench = Bench(args, app, bare, floor, cookie, HabitFiles(habits, folder), Others([app, bare, floor]))
        bench.warm_up()
        bench.run(size)
        memory = {"app": memory_kib(app), "bare": memory_kib(bare)}
    run = {
        "code": first_line(["git", "describe", "--always", "--dirty"]),
        "wrk": first_line([WRK, "-v"]),
        "workers": args.workers,
        "seconds": args.seconds,
        "page_bytes": size,
        "took_s": round(time.monotonic() - started),
    }
    results = {**run, **report(bench.measurements, memory, run), "memory_kib": memory}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(measurements: list[Measurement], memory: dict[str, dict[str, int]], run: dict[str, Any]) -> dict[str, Any]:
    """Print the rows grouped by measurement, then issue 14's figures; return them for --json."""
    header = [
        f"bench.load at {run['code']}, {run['wrk']}: {run['workers']} worker(s), {run['seconds']} s each, took "
        f"{run['took_s']} s",
        f"wrk threads: one for the pages, one per connection for the writes; Today is {run['page_bytes']} B",
        "rate: pages answered 200, cycles whose PUT answered 200, flips POSTed; p50/p99: of each request (a cycle's",
        "POSTs and PUTs alike); then rate / the bare page's req/s at the same connection count; others: the share of",
        f"the machine's {os.cpu_count()} cores that other processes (or the host) used meanwhile: noise in that row",
    ]
    print("\n".join(f"# {line}" for line in header))
    for name in dict.fromkeys(m.name for m in measurements):
        for m in measurements:
            if m.name == name:
                print(m.line())

    def find(name: str, c: int) -> Measurement:
        return next(m for m in measurements if m.name.startswith(name) and m.connections == c)

    def ratio(name: str) -> float:
        return find(name, 10).ratio or 0.0

    today, cycle = ratio("Today"), ratio("flip + reflection")
    serial, group = ratio("bare writes, serial"), ratio("bare writes, group commit")
    floor_page, floor_cycle = ratio("FastAPI floor page"), ratio("FastAPI floor writes")
    post, serial_post, group_post = (
        find(name, POST_CONNECTIONS).percentile_ms(99)
        for name in ("flip POST alone", "bare POST alone, serial", "bare POST alone, group commit")
    )
    errors = sum(m.errors for m in measurements)
    rss, peak = memory["app"]["rss_kib"] / 1024, memory["app"]["peak_rss_kib"] / 1024
    verdict = {True: "met", False: "NOT met"}
    lines = {
        "Today at c=10": f"{today:.3f}x the bare page (target >= 0.20x): {verdict[today >= 0.20]}",
        "flip + reflection at c=10": f"{cycle:.3f} cycles per bare request (target >= 0.15): {verdict[cycle >= 0.15]}",
        "  the limits at c=10": f"serial {serial:.3f}, group commit {group:.3f} cycles per bare request",
        "FastAPI's floor at c=10": f"page {floor_page:.3f}x, cycle {floor_cycle:.3f} cycles per bare request; the "
        f"app does {today / floor_page:.2f} and {cycle / floor_cycle:.2f} of them",
        f"flip POST p99 at c={POST_CONNECTIONS}": f"{post:.1f} ms (bare: serial {serial_post:.1f} ms, "
        f"group commit {group_post:.1f} ms)",
        "app server RSS after the run": f"{rss:.1f} MiB (peak {peak:.1f} MiB; {run['workers']} worker(s))",
        "errors in the run": f"{errors}" + (": see the rows above" if errors else ""),
    }
    print("# issue 14")
    for label, value in lines.items():
        print(f"{label:<30} {value}")
    return {
        "measurements": [m.as_json() for m in measurements],
        "issue14": {
            "today_ratio_c10": round(today, 4),
            "cycles_per_bare_request_c10": round(cycle, 4),
            "fastapi_floor_page_ratio_c10": round(floor_page, 4),
            "fastapi_floor_cycles_per_bare_request_c10": round(floor_cycle, 4),
            "flip_post_p99_ms_c50": post,
            "app_rss_kib_after": memory["app"]["rss_kib"],
            "errors": errors,
        },
    }


if __name__ == "__main__":
    main()
