"""`coinflip healthcheck`, light enough for Docker to run every 30 s: `python -m app.healthcheck` imports the
settings and nothing of the app's database or web stack (the whole `coinflip` command takes ~1 s of CPU)."""

import sys
import urllib.request

from app.config import Settings


class Unhealthy(Exception):
    """The running app did not answer /healthz with a success."""


def check(settings: Settings) -> str:
    """Ask the running app's /healthz, under its sub-path if it has one: "URL: 200", or Unhealthy."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}{settings.root_path}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (a fixed http URL)
            return f"{url}: {response.status}"
    except (OSError, ValueError) as exc:
        raise Unhealthy(f"{url} did not answer: {exc}") from exc


def main() -> int:
    try:
        print(check(Settings()))
    except Unhealthy as exc:
        print(f"coinflip: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
