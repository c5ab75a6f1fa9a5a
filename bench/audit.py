"""Lighthouse (npm's `lighthouse`, driving Debian's Chromium via CHROME_PATH) on the main pages at mobile
settings; prints each page's performance, accessibility and best-practices scores.

    .venv/bin/python -m bench.audit      (or: make audit)

Installs lighthouse into bench/node_modules on first use. Loopback only.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from app import security
from bench.load import SECRET, prepare, serving

HERE = Path(__file__).resolve().parent
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run"
)
PAGES = ("/", "/history", "/habits", "/enhancers", "/insights", "/insights/habits/{rich}", "/settings", "/login")
TARGETS = {"performance": 98, "accessibility": 100, "best-practices": 100}


def lighthouse() -> Path:
    binary = HERE / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HERE), "lighthouse@12"], check=True
        )
    return binary


def main() -> None:
    binary = lighthouse()
    with tempfile.TemporaryDirectory() as tmp:
        login, rich, _ = prepare(Path(tmp), cycles=1, members=1)
        env = {"COINFLIP_DATA_DIR": tmp, "COINFLIP_SECRET_KEY": SECRET, "COINFLIP_BACKUP_KEEP": "0"}
        headers = json.dumps({"Cookie": f"{security.LOGIN_COOKIE}={login}"})
        failed = []
        with serving(["app.main:create_app", "--factory"], env, 1) as url:
            for page in PAGES:
                path = page.format(rich=rich)
                report = Path(tmp) / "report.json"
                extra = [] if path == "/login" else [f"--extra-headers={headers}"]
                subprocess.run(
                    [
                        str(binary),
                        url + path,
                        "--quiet",
                        "--output=json",
                        f"--output-path={report}",
                        f"--chrome-flags={FLAGS}",
                        "--only-categories=performance,accessibility,best-practices",
                        *extra,
                    ],
                    env={**os.environ, "CHROME_PATH": CHROME},
                    check=True,
                    timeout=180,
                )
                categories = json.loads(report.read_text())["categories"]
                scores = {name: round((categories[name]["score"] or 0) * 100) for name in TARGETS}
                misses = [f"{n} {s} < {TARGETS[n]}" for n, s in scores.items() if s < TARGETS[n]]
                failed += [f"{path}: {m}" for m in misses]
                print(f"{path:<28} " + "  ".join(f"{n} {s:>3}" for n, s in scores.items()))
        print("all targets met" if not failed else "below target:\n  " + "\n  ".join(failed))
    shutil.rmtree(HERE / "node_modules" / ".cache", ignore_errors=True)


if __name__ == "__main__":
    main()
