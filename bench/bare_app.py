"""The physical limits to compare against, and the app's own stack answering without doing the app's work.

- `app`: a bare Starlette app answering a page of Today's size (GET /), and a bare write cycle: POST /flips
  inserts a row and PUT /flips/{id} updates it, each a durable SQLite transaction (WAL, synchronous=FULL,
  BEGIN IMMEDIATE) on the event loop, with no framework around it: the fastest a flip + reflection can be.
- `stack_app()`: the real app (its middleware, routing and the CSRF dependency every route has) plus the same
  page with no session, login or template (GET /constant), and the same write cycle, one statement each,
  through the app's own writer (app.db: group commit, a savepoint per write), as the app's writes run
  (/api/constant/flips). Under /api/ so that a bearer header passes the CSRF check.
"""

import os
import sqlite3
from functools import cache

from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from app.deps import Db

PAGE = b"<!doctype html><title>x</title>" + b"x" * max(0, int(os.environ.get("BARE_PAGE_BYTES", "8000")) - 31)
TABLE = "CREATE TABLE IF NOT EXISTS bench_flip (id INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT '')"


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@cache
def scratch() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BARE_DB"], isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(TABLE)
    return connection


def durably(statement: str, *args: object) -> int:
    connection = scratch()
    connection.execute("BEGIN IMMEDIATE")
    row_id = connection.execute(statement, args).lastrowid or 0
    connection.execute("COMMIT")
    return row_id


async def bare_flip(request: Request) -> JSONResponse:
    return JSONResponse({"id": durably("INSERT INTO bench_flip DEFAULT VALUES")}, status_code=201)


async def bare_reflection(request: Request) -> JSONResponse:
    flip_id = int(request.path_params["flip_id"])
    durably("UPDATE bench_flip SET note = 'bench' WHERE id = ?", flip_id)
    return JSONResponse({"id": flip_id})


app = Starlette(
    routes=[
        Route("/", page),
        Route("/flips", bare_flip, methods=["POST"]),
        Route("/flips/{flip_id:int}", bare_reflection, methods=["PUT"]),
    ]
)


def insert_row(db: Session) -> int:
    return int(db.execute(text("INSERT INTO bench_flip DEFAULT VALUES RETURNING id")).scalar_one())


def update_row(db: Session, flip_id: int) -> None:
    db.execute(text("UPDATE bench_flip SET note = 'bench' WHERE id = :id"), {"id": flip_id})


async def stack_flip(db: Db) -> JSONResponse:
    return JSONResponse({"id": await db.write(insert_row)}, status_code=201)


async def stack_reflection(flip_id: int, db: Db) -> JSONResponse:
    await db.write(update_row, flip_id)
    return JSONResponse({"id": flip_id})


def stack_app() -> FastAPI:
    from app.main import create_app

    stack = create_app()
    with stack.state.engine.begin() as connection:
        connection.exec_driver_sql(TABLE)
    extra = [
        ("GET", "/constant", page),
        ("POST", "/api/constant/flips", stack_flip),
        ("PUT", "/api/constant/flips/{flip_id}", stack_reflection),
    ]
    for method, path, endpoint in extra:
        stack.add_api_route(path, endpoint, methods=[method])
    # First in line, as Today nearly is: FastAPI tries the routes in order, each try costs a little.
    stack.router.routes[:0] = [stack.router.routes.pop() for _ in extra]
    return stack
