"""Routing by the path's literal start. FastAPI tries the app's routes in turn, each router the app included
with all of its routes, at ~8 µs a route, and the router that matches twice: a page behind the API spent ~65 µs,
an API call on flips ~280 µs, finding its handler. The index hands a request to a router of only the routes
whose literal start ("/api/v1/flips", "/settings") its path has."""

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRouter
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from app.headers import route_path

Start = tuple[str, ...]  # a path's segments up to the first that holds a parameter


def literal_start(path: str) -> Start:
    """'/api/v1/flips/{flip_id}' → ('api', 'v1', 'flips'); '/' → ('',); '/{slug}' → ()."""
    start = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        start.append(segment)
    return tuple(start)


def paths_of(route: Any, prefix: str = "") -> Iterator[str]:
    """The paths a route matches: a router the app included has its routes', each under the router's prefix."""
    if isinstance(getattr(route, "path", None), str):
        yield prefix + route.path
    elif (included := getattr(route, "original_router", None)) is not None:
        for inner in included.routes:
            yield from paths_of(inner, prefix + getattr(route.include_context, "prefix", ""))
    else:
        yield "/{anything}"


def common_start(route: BaseRoute) -> Start:
    """The literal start every path of the route has (a Mount's matches below it too)."""
    starts = [literal_start(path) for path in paths_of(route)]
    common = starts[0]
    for start in starts[1:]:
        size = 0
        while size < min(len(common), len(start)) and common[size] == start[size]:
            size += 1
        common = common[:size]
    return common


class RouteIndex:
    """The app's routes, each with the literal start of its paths; a request is handed to a router of just the
    routes its path starts like, in the app's order: a route it leaves out could never match, so the route found
    (and a 405's partial match) is the one FastAPI would find. URLs are still built by the app's router."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.indexed = -1  # how many routes the router had when the index was built
        self.starts: list[tuple[Start, int]] = []
        self.routers: dict[tuple[int, ...], APIRouter] = {}

    def build(self) -> None:
        self.indexed = len(self.router.routes)
        self.starts = [(common_start(route), i) for i, route in enumerate(self.router.routes)]
        self.routers = {}

    def router_for(self, path: str) -> APIRouter:
        if self.indexed != len(self.router.routes):  # built on first use, again if routes were added since
            self.build()
        segments = tuple(path.split("/")[1:])
        chosen = tuple(i for start, i in self.starts if segments[: len(start)] == start)
        router = self.routers.get(chosen)
        if router is None:  # one router per set of routes: a few dozen at most
            routes = [self.router.routes[i] for i in chosen]
            router = self.routers[chosen] = APIRouter(
                routes=routes, redirect_slashes=False, default=self.router.default
            )
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.router.redirect_slashes:
            await self.router.app(scope, receive, send)
            return
        scope.setdefault("router", self.router)
        await self.router_for(route_path(scope)).app(scope, receive, send)
