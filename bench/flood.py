"""A flip + reflection while strangers flood the login form: does a wrong password hold up the daily write?

One connection flips and reflects, one cycle after another, through the JSON API; meanwhile FLOODERS connections
post wrong passwords for household names nobody has (each a new name, so each costs a full Argon2 check and
none is throttled). The cycle's times are measured without the flood, then with it. Bounded: CYCLES cycles
per measurement, at most SECONDS each; loopback only.
"""

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from app import security
from app.config import Settings
from bench.httpload import Connection
from bench.load import SECRET, prepare, serving


async def cycles(url: str, habits: list[tuple[int, str]], count: int, seconds: float) -> list[float]:
    conn = await Connection.open(url)
    reflection = json.dumps({"effort": 7, "enjoyment": 8, "followed": "yes", "note": "flood"}).encode()
    took: list[float] = []
    deadline = time.monotonic() + seconds
    for habit_id, token in habits[:count]:
        if time.monotonic() > deadline:
            break
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        start = time.perf_counter()
        status, body = await conn.request("POST", f"/api/v1/habits/{habit_id}/flips", headers)
        assert status in (200, 201), status
        flip_id = json.loads(body)["id"]
        status, _ = await conn.request("PUT", f"/api/v1/flips/{flip_id}/reflection", headers, reflection)
        assert status == 200, status
        took.append(time.perf_counter() - start)
    conn.close()
    return took


async def flood(url: str, key: bytes, stop: asyncio.Event, counts: dict[int, int], who: int) -> None:
    conn = await Connection.open(url)
    anon = "flood"
    headers = {
        "Cookie": f"{security.ANON_COOKIE}={anon}",
        security.CSRF_HEADER: security.csrf_token(key, anon),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    names = (f"Nobody {who}-{i}" for i in itertools.count())
    while not stop.is_set():
        body = urlencode({"name": next(names), "password": "wrong password"}).encode()
        status, _ = await conn.request("POST", "/login", headers, body)
        counts[status] = counts.get(status, 0) + 1
    conn.close()


async def with_flood(
    url: str, key: bytes, flooders: int, habits: list[tuple[int, str]], count: int, seconds: float
) -> tuple[list[float], dict[int, int]]:
    stop, counts = asyncio.Event(), {}
    tasks = [asyncio.create_task(flood(url, key, stop, counts, who)) for who in range(flooders)]
    await asyncio.sleep(1)  # let the flood reach its pace before measuring (a benchmark, not a test)
    try:
        took = await cycles(url, habits, count, seconds)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return took, counts


def line(name: str, took: list[float]) -> str:
    ordered = sorted(took)
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<28} {len(took):>4} cycles  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--flooders", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, habits = prepare(Path(tmp), cycles=2 * args.cycles, members=2)
        settings = Settings(data_dir=tmp, secret_key=SECRET, backup_keep=0)
        env = {"COINFLIP_DATA_DIR": tmp, "COINFLIP_SECRET_KEY": SECRET, "COINFLIP_BACKUP_KEEP": "0"}
        with serving(["app.main:create_app", "--factory"], env, 1) as url:
            quiet = asyncio.run(cycles(url, habits, args.cycles, args.seconds))
            flooded, counts = asyncio.run(
                with_flood(url, settings.key, args.flooders, habits[args.cycles :], args.cycles, args.seconds)
            )
    print(line("flip + reflect, quiet", quiet))
    print(line(f"flip + reflect, {args.flooders} flooding", flooded))
    print("login answers during the flood:", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
