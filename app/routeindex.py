"""Routing by the path's first segment. FastAPI tries the routes in turn, each router included by the app with
all of its routes (and the one that matches twice): a page behind the API's 40 routes spent ~65 µs, Settings
~105 µs, finding its handler. The index hands a request to a router of only the routes its path can match."""

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRouter
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from app.headers import route_path

ANY = "{"  # the group of a route whose first segment is a parameter: it can match any path


def first_segment(path: str) -> str:
    """'/api/v1/flips' → 'api', '/' → '', '/{slug}' → ANY."""
    segment = path.split("/", 2)[1] if path.startswith("/") else ANY
    return ANY if "{" in segment else segment


def segments_of(route: Any, prefix: str = "") -> Iterator[str]:
    """The first segments of the paths a route can match: a router the app included has one per route of its."""
    if isinstance(getattr(route, "path", None), str):
        yield first_segment(prefix + route.path)
    elif (included := getattr(route, "original_router", None)) is not None:
        for inner in included.routes:
            yield from segments_of(inner, prefix + getattr(route.include_context, "prefix", ""))
    else:
        yield ANY


class RouteIndex:
    """The app's routes in groups, one router per first segment, each in the app's order: two routes of
    different literal first segments never match the same path, so the route found (and a 405's partial match)
    is the one FastAPI would find. URLs are still built by the app's own router, which knows every route."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.indexed = -1  # how many routes the router had when the index was built
        self.groups: dict[str, APIRouter] = {}

    def build(self) -> None:
        self.indexed = len(self.router.routes)
        members: dict[str, list[BaseRoute]] = {ANY: []}
        for route in self.router.routes:
            for segment in set(segments_of(route)):
                members.setdefault(segment, [])
        for route in self.router.routes:
            segments = set(segments_of(route))
            for segment, group in members.items():
                if segment in segments or ANY in segments:
                    group.append(route)
        self.groups = {
            segment: APIRouter(routes=routes, redirect_slashes=False, default=self.router.default)
            for segment, routes in members.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.router.redirect_slashes:
            await self.router.app(scope, receive, send)
            return
        if self.indexed != len(self.router.routes):  # built on first use, again if routes were added since
            self.build()
        scope.setdefault("router", self.router)
        path = route_path(scope)
        segment = path.split("/", 2)[1] if path.startswith("/") else ANY
        await self.groups.get(segment, self.groups[ANY]).app(scope, receive, send)
