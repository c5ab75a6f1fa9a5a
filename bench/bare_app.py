"""The limits to compare the app against: a bare Starlette app with no framework work around its answers.

- GET /: a page of Today's size (BARE_PAGE_BYTES), the limit of any page.
- POST /flips and PUT /flips/{id}: the bare write cycle, **serial**: the POST inserts a row and the PUT updates
  it, each in its own durable transaction (`BEGIN IMMEDIATE … COMMIT`, WAL, `synchronous=FULL`) on one raw
  `sqlite3` connection on the event loop (BARE_DB): one fsync per request.
- POST /group/flips and PUT /group/flips/{id}: the same cycle with **group commit**: one writer thread takes
  every write queued, runs them all in one durable transaction, and only then answers each request whose write
  it holds (BARE_GROUP_DB, or BARE_DB with "-group"): one fsync per batch of waiting requests.

No validation, no login, nothing a real flip does: the fastest a durable flip + reflection can be.

`floor` is the framework's own floor: the same page and group-commit cycle as FastAPI routes (the stack the app
is built on) instead of Starlette's, the reflection's body parsed and validated by its pydantic model as the
app's API does. Nothing else: no middleware, no dependencies, no login, no rule.
"""

import asyncio
import os
import queue
import sqlite3
import threading
from dataclasses import dataclass
from functools import cache

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from app.schemas import ReflectionIn

PAGE = b"<!doctype html><title>x</title>" + b"x" * max(0, int(os.environ.get("BARE_PAGE_BYTES", "8000")) - 31)
TABLE = "CREATE TABLE IF NOT EXISTS bench_flip (id INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT '')"
INSERT = "INSERT INTO bench_flip DEFAULT VALUES"
UPDATE = "UPDATE bench_flip SET note = 'bench' WHERE id = ?"


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


def connect(path: str) -> sqlite3.Connection:
    """A raw connection in autocommit mode (transactions are explicit), durable WAL."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(TABLE)
    return connection


@cache
def scratch() -> sqlite3.Connection:
    return connect(os.environ["BARE_DB"])


def durably(statement: str, *args: object) -> int:
    """One statement in its own durable transaction; the row id it inserted (0 for an update)."""
    connection = scratch()
    connection.execute("BEGIN IMMEDIATE")
    row_id = connection.execute(statement, args).lastrowid or 0
    connection.execute("COMMIT")
    return row_id


async def bare_flip(request: Request) -> JSONResponse:
    return JSONResponse({"id": durably(INSERT)}, status_code=201)


async def bare_reflection(request: Request) -> JSONResponse:
    flip_id = int(request.path_params["flip_id"])
    durably(UPDATE, flip_id)
    return JSONResponse({"id": flip_id})


@dataclass
class Write:
    statement: str
    args: tuple[object, ...]
    future: asyncio.Future[int]


class GroupCommit:
    """One writer thread: takes every write queued, runs them in one `BEGIN IMMEDIATE … COMMIT`, and answers
    each write's request only after that commit."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = connect(path)
        self.loop = loop
        self.waiting: queue.SimpleQueue[Write] = queue.SimpleQueue()
        threading.Thread(target=self.run, name="group-commit", daemon=True).start()

    async def write(self, statement: str, *args: object) -> int:
        future: asyncio.Future[int] = self.loop.create_future()
        self.waiting.put(Write(statement, args, future))
        return await future

    def run(self) -> None:
        while True:
            batch = [self.waiting.get()]
            while not self.waiting.empty():
                batch.append(self.waiting.get_nowait())
            try:
                self.loop.call_soon_threadsafe(answer, batch, self.commit(batch))
            except sqlite3.Error as exc:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                self.loop.call_soon_threadsafe(fail, batch, exc)

    def commit(self, batch: list[Write]) -> list[int]:
        self.connection.execute("BEGIN IMMEDIATE")
        row_ids = [self.connection.execute(w.statement, w.args).lastrowid or 0 for w in batch]
        self.connection.execute("COMMIT")
        return row_ids


def answer(batch: list[Write], row_ids: list[int]) -> None:
    for write, row_id in zip(batch, row_ids, strict=True):
        write.future.set_result(row_id)


def fail(batch: list[Write], exc: Exception) -> None:
    for write in batch:
        write.future.set_exception(exc)


@cache
def group_writer() -> GroupCommit:
    path = os.environ.get("BARE_GROUP_DB") or os.environ["BARE_DB"] + "-group"
    return GroupCommit(path, asyncio.get_running_loop())


async def group_flip(request: Request) -> JSONResponse:
    return JSONResponse({"id": await group_writer().write(INSERT)}, status_code=201)


async def group_reflection(request: Request) -> JSONResponse:
    flip_id = int(request.path_params["flip_id"])
    await group_writer().write(UPDATE, flip_id)
    return JSONResponse({"id": flip_id})


app = Starlette(
    routes=[
        Route("/", page),
        Route("/flips", bare_flip, methods=["POST"]),
        Route("/flips/{flip_id:int}", bare_reflection, methods=["PUT"]),
        Route("/group/flips", group_flip, methods=["POST"]),
        Route("/group/flips/{flip_id:int}", group_reflection, methods=["PUT"]),
    ]
)


class FlipId(BaseModel):
    id: int


floor = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)


@floor.get("/", response_class=HTMLResponse)
async def floor_page() -> Response:
    return HTMLResponse(PAGE)


@floor.post("/group/flips", status_code=201)
async def floor_flip() -> FlipId:
    return FlipId(id=await group_writer().write(INSERT))


@floor.put("/group/flips/{flip_id}")
async def floor_reflection(flip_id: int, data: ReflectionIn) -> FlipId:
    await group_writer().write(UPDATE, flip_id)
    return FlipId(id=flip_id)
