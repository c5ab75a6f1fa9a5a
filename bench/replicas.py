"""Two replicas on one PostgreSQL database, many clients flipping and reflecting through the JSON API on both:
counts every answer by status, and the tracebacks in the replicas' logs. Bounded by a request count and a
time limit; loopback only.

python -m bench.replicas postgresql+psycopg://postgres@127.0.0.1:54330/coinflip_b [--clients 20 --seconds 15]

The database is emptied first (every table of the app dropped, then migrated again): give it a scratch one.
`--isolation "repeatable read"` runs it as a server with that default would (`default_transaction_isolation`).
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

COINFLIP = str(Path(sys.executable).with_name("coinflip"))
HOUSEHOLD = "Replicas"
PASSWORD = "replicas-bench-password"
FOLLOWED = ("yes", "partly", "no")
ISOLATION_LEVELS = ("read committed", "repeatable read", "serializable")
NEW_HABIT = 0.15  # how often a client adds a habit to flip


@dataclass
class Tally:
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    requests: int = 0

    def count(self, name: str, status: int) -> None:
        self.answers[(name, status)] += 1
        self.requests += 1

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.answers.items() if status >= 500)


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([COINFLIP, *args], env=env, input=stdin, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def empty_database(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def set_isolation(url: str, isolation: str | None) -> None:
    """The database's default isolation level for new connections (None: the server's own again)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        name = conn.dialect.identifier_preparer.quote(engine.url.database or "")
        if isolation is None:
            conn.execute(text(f"ALTER DATABASE {name} RESET default_transaction_isolation"))
        else:
            conn.execute(text(f"ALTER DATABASE {name} SET default_transaction_isolation = '{isolation}'"))
    engine.dispose()


def prepare(env: dict[str, str], members: int) -> dict[str, str]:
    """A household of `members` members, each with the demo's habits and enhancers; their API tokens."""
    cli(env, "migrate")
    cli(env, "household", "create", HOUSEHOLD, "--password-stdin", stdin=PASSWORD)
    tokens = {}
    for n in range(members):
        name = f"Member {n + 1}"
        cli(env, "demo", "--household", HOUSEHOLD, "--member", name, "--days", "3", "--seed", str(n))
        tokens[name] = cli(env, "token", "create", "--household", HOUSEHOLD, "--member", name)
    return tokens


def start_replicas(env: dict[str, str], ports: list[int], logs: Path) -> list[subprocess.Popen[bytes]]:
    servers = []
    for port in ports:
        log = (logs / f"replica-{port}.log").open("wb")
        command = [COINFLIP, "serve", "--host", "127.0.0.1", "--port", str(port)]
        servers.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 30
    for port in ports:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                for server in servers:
                    server.terminate()
                raise SystemExit(f"replica on port {port} did not start: see {logs}")
            time.sleep(0.1)
    return servers


async def new_habit(http: httpx.AsyncClient, base: str, auth: dict[str, str], n: int, tally: Tally) -> int | None:
    enhancers = await http.get(f"{base}/api/v1/enhancers", headers=auth)
    tally.count("GET enhancers", enhancers.status_code)
    if enhancers.status_code != 200:
        return None
    body = {"name": f"Bench habit {n}", "enhancer_ids": [e["id"] for e in enhancers.json()][:3]}
    made = await http.post(f"{base}/api/v1/habits", headers=auth, json=body)
    tally.count("POST habit", made.status_code)
    return int(made.json()["id"]) if made.status_code == 201 else None


async def client(
    number: int, tokens: list[str], ports: list[int], habits: dict[str, list[int]], tally: Tally, stop: float, cap: int
) -> None:
    """Flip a habit of one of the members (shared with other clients, on either replica) and reflect on it.

    Clients of one member mostly pick its newest habits, so two of them often flip and reflect on the same
    habit at the same moment, through different replicas; now and then one adds a habit to flip."""
    rng = random.Random(number)
    token = tokens[number % len(tokens)]
    auth = {"Authorization": f"Bearer {token}"}
    pool = habits[token]
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < stop and tally.requests < cap:
            try:
                await cycle(http, rng, ports, auth, pool, number, tally)
            except httpx.TransportError:
                tally.count("connection lost", 0)


async def cycle(
    http: httpx.AsyncClient, rng: random.Random, ports: list[int], auth: dict[str, str], pool: list[int],
    number: int, tally: Tally,
) -> None:  # fmt: skip
    """One tap: add a habit now and then; else flip one of the newest, reflect, and sometimes edit it."""
    base = f"http://127.0.0.1:{rng.choice(ports)}"
    if not pool:
        listed = await http.get(f"{base}/api/v1/habits", headers=auth)
        pool.extend(h["id"] for h in listed.json() if h["enhancer_ids"] and h["id"] not in pool)
    if not pool or rng.random() < NEW_HABIT:
        made = await new_habit(http, base, auth, len(pool) + 1000 * number, tally)
        if made is not None:
            pool.append(made)
        return
    habit = rng.choice(pool[-2:])
    headers = dict(auth)
    if rng.random() < 0.3:
        headers["Idempotency-Key"] = f"{habit}-{rng.randrange(2)}"
    flipped = await http.post(f"{base}/api/v1/habits/{habit}/flips", headers=headers)
    tally.count("POST flip", flipped.status_code)
    if flipped.status_code not in (200, 201):
        return
    flip_id = flipped.json()["id"]
    # Often through the other replica; the same content twice is a double tap, other content a conflict.
    base = f"http://127.0.0.1:{rng.choice(ports)}"
    reflection = {"effort": rng.randint(6, 7), "enjoyment": 7, "followed": rng.choice(FOLLOWED), "note": ""}
    put = await http.put(f"{base}/api/v1/flips/{flip_id}/reflection", headers=auth, json=reflection)
    tally.count("PUT reflection", put.status_code)
    if put.status_code in (200, 409) and rng.random() < 0.3:
        # An edit of what is saved: If-Match names the version this client saw.
        edit = reflection | {"note": f"edit {rng.randrange(1000)}"}
        headers = auth | {"If-Match": put.headers.get("ETag", '"1"')}
        put = await http.put(f"{base}/api/v1/flips/{flip_id}/reflection", headers=headers, json=edit)
        tally.count("PUT reflection", put.status_code)


async def load(tokens: list[str], ports: list[int], clients: int, seconds: float, cap: int) -> Tally:
    tally = Tally()
    habits: dict[str, list[int]] = {t: [] for t in tokens}
    stop = time.monotonic() + seconds
    await asyncio.gather(*(client(n, tokens, ports, habits, tally, stop, cap) for n in range(clients)))
    return tally


def tracebacks(logs: Path) -> Counter[str]:
    """The last line of each traceback in the replicas' logs: the exception that made a 500."""
    found: Counter[str] = Counter()
    for log in logs.glob("replica-*.log"):
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith((" ", "Traceback"))), i)
                found[lines[end][:160]] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="a scratch PostgreSQL database: it is emptied first")
    parser.add_argument("--ports", type=int, nargs="+", default=[8101, 8102])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument(
        "--isolation", choices=ISOLATION_LEVELS, help="the database's default isolation level (default: the server's)"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("replicas share a PostgreSQL database")
    data = Path(tempfile.mkdtemp(prefix="coinflip-replicas-"))
    env = os.environ | {
        "COINFLIP_DATABASE_URL": args.database_url,
        "COINFLIP_DATA_DIR": str(data),
        "COINFLIP_SECRET_KEY": "replicas-bench-secret-key",
        "COINFLIP_BACKUP_KEEP": "0",
    }
    empty_database(args.database_url)
    set_isolation(args.database_url, args.isolation)
    try:
        tokens = prepare(env, args.members)
        servers = start_replicas(env, args.ports, data)
        try:
            tally = asyncio.run(load(list(tokens.values()), args.ports, args.clients, args.seconds, args.requests))
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)
    finally:
        set_isolation(args.database_url, None)
    print(f"# {len(args.ports)} replicas, {args.clients} clients, {args.seconds:g} s: {tally.requests} requests")
    for (name, status), n in sorted(tally.answers.items()):
        print(f"{name:<16} {status}  {n:6d}")
    print(f"answered 5xx: {tally.server_errors}")
    for last_line, n in tracebacks(data).most_common():
        print(f"{n:5d}  {last_line}")
    print(f"logs: {data}")


if __name__ == "__main__":
    main()
