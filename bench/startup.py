"""Start-up to /healthz: wall time from spawning `coinflip serve` (as `make run` does) until GET /healthz answers 200.

python -m bench.startup [--runs 5] [--timeout 30]

Two cases, each a few runs on a free loopback port: a fresh data folder every run (the first `make run`: a new
SQLite database migrated from nothing, a new secret key) and one folder whose database is migrated already (every
later start). Prints min and median of each, in seconds, and the median CPU time of the server process (start,
those answers, stop): on this shared 2-core machine the wall time follows whatever else runs, the CPU time much
less. The standard library alone polls (every 5 ms), so it runs in `make run`'s .venv as in the development one.
"""

import argparse
import http.client
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COINFLIP = str(Path(sys.executable).with_name("coinflip"))
POLL = 0.005  # seconds between two tries while the server is not listening yet


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_once(data_dir: Path, timeout: float) -> tuple[float, float]:
    """Seconds from spawn until /healthz answers 200, and the CPU seconds the server used until it stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COINFLIP_")}
    env["COINFLIP_DATA_DIR"] = str(data_dir)
    command = [COINFLIP, "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = data_dir.parent / f"{data_dir.name}.log"
    cpu = children_cpu()
    with log.open("ab") as out:
        began = time.perf_counter()
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            while not healthy(port):
                if server.poll() is not None:
                    raise SystemExit(f"coinflip serve exited with {server.returncode}:\n{tail(log)}")
                if time.perf_counter() - began > timeout:
                    raise SystemExit(f"/healthz did not answer within {timeout:.0f} s:\n{tail(log)}")
                time.sleep(POLL)
            wall = time.perf_counter() - began
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return wall, children_cpu() - cpu


def report(name: str, starts: list[tuple[float, float]]) -> None:
    walls = [wall for wall, _ in starts]
    cpu = statistics.median(cpu for _, cpu in starts)
    runs = ", ".join(f"{s:.2f}" for s in walls)
    print(f"{name:<18} min {min(walls):5.2f} s  median {statistics.median(walls):5.2f} s  CPU {cpu:5.2f} s  ({runs})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="starts per case (default 5)")
    p.add_argument("--timeout", type=float, default=30, help="seconds one start may take (default 30)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="coinflip-startup-") as scratch:
        root = Path(scratch)
        fresh = [start_once(root / f"fresh-{n}", args.timeout) for n in range(args.runs)]
        existing = root / "existing"
        start_once(existing, args.timeout)  # migrates it; not counted
        migrated = [start_once(existing, args.timeout) for _ in range(args.runs)]
    report("fresh data folder", fresh)
    report("migrated database", migrated)


if __name__ == "__main__":
    main()
