"""The physical limit to compare against: a bare Starlette app answering a page of Today's size."""

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = b"<!doctype html><title>x</title>" + b"x" * max(0, int(os.environ.get("BARE_PAGE_BYTES", "8000")) - 31)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", page)])
