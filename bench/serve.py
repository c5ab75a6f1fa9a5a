"""Serve an ASGI app the way `coinflip serve` does (its worker-socket fix included), for the benchmarks.

python -m bench.serve TARGET PORT WORKERS [--factory]
"""

import sys

from app.cli import run_server

if __name__ == "__main__":
    target, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    run_server(target, factory="--factory" in sys.argv, host="127.0.0.1", port=port, workers=workers, access_log=False)
