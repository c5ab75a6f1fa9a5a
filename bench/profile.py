"""Profile one kind of request in-process with pyinstrument: no server, no client, just the ASGI app.

.venv/bin/python -m bench.profile today|flip|insights [--count 500] [--inline] [--html out.html]
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from app import security
from bench.load import SECRET, prepare


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1", **headers}.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": app.state_for_profile,
    }
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def inline_writes() -> None:
    """Writes run on the event loop, each committed on its own: the profiler sees only the loop's thread."""
    from app import db

    async def write(self: db.Database, work: Any, /, *args: Any, **kwargs: Any) -> Any:
        return db.in_session(db.engine_view(self.engine, True), work, args, kwargs, commit=True)

    async def write_plain(self: db.Database, work: Any, /, *args: Any, **kwargs: Any) -> Any:
        return db.in_plain(db.engine_view(self.engine, True), work, args, kwargs, commit=True)

    db.Database.write = write  # type: ignore[method-assign]
    db.Database.write_plain = write_plain  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("today", "flip", "insights"))
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--html", type=Path)
    parser.add_argument("--inline", action="store_true", help="run writes on the loop, so the profile sees them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        login, rich, habits = prepare(Path(tmp), cycles=20 + 2 * args.count, today_habits=4)
        os.environ.update(COINFLIP_DATA_DIR=tmp, COINFLIP_SECRET_KEY=SECRET, COINFLIP_BACKUP_KEEP="0")
        from app.main import create_app

        if args.inline:
            inline_writes()

        app = create_app()
        cookie = {"Cookie": f"{security.LOGIN_COOKIE}={login}"}
        reflection = json.dumps({"effort": 7, "enjoyment": 8, "followed": "yes", "note": "bench"}).encode()

        async def once(i: int) -> None:
            if args.what == "today":
                status, _ = await call(app, "GET", "/", cookie)
                assert status == 200, status
            elif args.what == "insights":
                status, _ = await call(app, "GET", f"/insights/habits/{rich}", cookie)
                assert status == 200, status
            else:
                habit_id, token = habits[i]  # one habit per cycle: each is flipped once a day
                bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                status, body = await call(app, "POST", f"/api/v1/habits/{habit_id}/flips", bearer)
                assert status in (200, 201), (status, body)
                flip_id = json.loads(body)["id"]
                status, body = await call(app, "PUT", f"/api/v1/flips/{flip_id}/reflection", bearer, reflection)
                assert status == 200, (status, body)

        async def run() -> None:
            async with app.router.lifespan_context(app) as state:
                app.state_for_profile = dict(state or {})
                for i in range(20):
                    await once(i)
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002, async_mode="enabled")
                start = time.perf_counter()
                with profiler:
                    for i in range(20, 20 + args.count):
                        await once(i)
                elapsed = time.perf_counter() - start
                print(f"{args.what}: {elapsed / args.count * 1000:.2f} ms per unit (profiled)")
                start, cpu = time.perf_counter(), time.process_time()
                for i in range(20 + args.count, 20 + 2 * args.count):
                    await once(i)
                per_unit = (time.perf_counter() - start) / args.count * 1000
                cpu_per_unit = (time.process_time() - cpu) / args.count * 1000
                print(f"{args.what}: {per_unit:.2f} ms per unit (plain), {cpu_per_unit:.2f} ms of CPU (all threads)")
                if args.html:
                    args.html.write_text(profiler.output_html())
                else:
                    print(profiler.output_text(unicode=False, color=False, show_all=False))

        asyncio.run(run())


if __name__ == "__main__":
    main()
