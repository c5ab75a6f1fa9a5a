"""The physical limit to compare against: a bare Starlette app answering a page of Today's size; and the
app's own stack answering the same page, to show what the framework costs before any database work."""

import os

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = b"<!doctype html><title>x</title>" + b"x" * max(0, int(os.environ.get("BARE_PAGE_BYTES", "8000")) - 31)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", page)])


def stack_app() -> FastAPI:
    """The real app (its middleware, routing and the CSRF dependency every route has), plus one route that
    answers the constant page: no session, no login, no template."""
    from app.main import create_app

    stack = create_app()
    stack.add_api_route("/constant", page, methods=["GET"])
    # First in line, as Today nearly is: FastAPI tries the routes in order, each try costs a little.
    stack.router.routes.insert(0, stack.router.routes.pop())
    return stack
