"""Weight: what the Today page's first load costs a phone, compressed, and how small htmx partials are.

.venv/bin/python -m bench.weight
"""

import gzip
import re
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from app import security
from app.config import Settings
from app.main import create_app
from bench.load import SECRET, prepare

BUDGET = 30 * 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        login, _, _ = prepare(Path(tmp), cycles=1, members=1)
        app = create_app(Settings(data_dir=tmp, secret_key=SECRET, backup_keep=0))
        with TestClient(app, cookies={security.LOGIN_COOKIE: login}) as client:
            page = client.get("/")
            rows = [("Today (HTML)", page.content)]
            for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=[0-9a-f]+)"', page.text):
                rows.append((asset.split("?")[0], client.get(asset).content))
            total = 0
            print(f"{'file':<36} {'bytes':>8} {'gzip':>8}")
            for name, body in rows:
                packed = len(gzip.compress(body, 6))
                total += packed
                print(f"{name:<36} {len(body):>8} {packed:>8}")
            print(f"{'first load, compressed':<36} {'':>8} {total:>8}   budget {BUDGET} ({total / BUDGET:.0%})")
            csrf = security.csrf_token(app.state.settings.key, security.digest(login))
            flip = client.post("/habits/1/flips", headers={"HX-Request": "true", security.CSRF_HEADER: csrf})
            print(f"{'htmx partial: flip card':<36} {len(flip.content):>8} {len(gzip.compress(flip.content, 6)):>8}")


if __name__ == "__main__":
    main()
