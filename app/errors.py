"""How errors reach people: an error page (or a redirect to log in) in the browser, JSON for the API."""

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app import i18n
from app.db import Gone
from app.deps import LoginRequired, MemberRequired, is_api
from app.headers import route_path
from app.i18n import N_, gettext
from app.templating import local_path, render, url_path

MESSAGES = {
    400: N_("That request didn't make sense to us."),
    401: N_("Please log in first."),
    403: N_("That isn't allowed."),
    404: N_("There's nothing here. It may have been deleted, or the link is wrong."),
    405: N_("That isn't allowed."),
    413: N_("That was more than we take in one go."),
}


def go_to(request: Request, name: str) -> Response:
    """To the login or "who's this?", then on to the page that was asked for (`?next=`)."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url_path(request, name)})
    return RedirectResponse(url_path(request, name, query=coming_from(request)), status_code=303)


def coming_from(request: Request) -> dict[str, str] | None:
    """The page a person opened (a link, a bookmark), to return to: a GET of a page other than Today. A form sent
    can't be sent again for them, and htmx asks for pieces of the page that is already open."""
    if request.method != "GET":
        return None
    path = quote(route_path(request.scope))
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = local_path(f"{path}?{query}" if query else path)
    return {"next": target} if target and target != "/" else None


async def login_required(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return go_to(request, "show_login")


async def member_required(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"detail": "Pick a member first"}, status_code=403)
    return go_to(request, "pick_member_page")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and "endpoint" not in request.scope:  # no route matched
        twin = slash_twin(request)
        if twin is not None:
            return RedirectResponse(twin, status_code=307)
    if is_api(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    # A 403's detail is one of ours (marked where it is raised, and English for the API): translated here.
    detail = exc.detail if exc.status_code == 403 else MESSAGES.get(exc.status_code, N_("Something went wrong."))
    detail = gettext(str(detail))
    return render(request, "error.html", status_code=exc.status_code, status=exc.status_code, detail=detail)


def slash_twin(request: Request) -> str | None:
    """Where a path with a stray trailing slash (or one missing) was meant to go, if that is a route: Starlette's
    redirect_slashes, but as a path under the sub-path, never a URL naming the Host header."""
    path = route_path(request.scope)
    if path == "/":
        return None
    twin = path.rstrip("/") if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": twin, "root_path": ""}
    if not any(route.matches(scope)[0] is not Match.NONE for route in request.app.router.routes):
        return None
    target = quote(request.scope.get("root_path", "") + twin)
    if target.startswith("//"):
        return None  # would name another host
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{target}?{query}" if query else target


def refusal(status: int, detail: str) -> ASGIApp:
    """An answer for middleware that refuses a request before it is routed: JSON for the API, else the error page."""

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response: Response
        if is_api(request):
            response = JSONResponse({"detail": detail}, status_code=status)
        else:
            # Refused before the Languages middleware: the page is in the browser's language all the same.
            with i18n.speaking(i18n.language_of(scope)):
                shown = gettext(MESSAGES[status])
                response = render(request, "error.html", status_code=status, status=status, detail=shown)
        await response(scope, receive, send)

    return refuse


def printable(value: object) -> str | int:
    """A location step as JSON can carry it: a lone surrogate in a sent key would fail to encode."""
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "replace").decode("utf-8")


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_api(request):
        # Where and why, not the refused value itself: NaN, 1e999 or a lone surrogate can't be sent back as JSON.
        detail = [
            {"loc": [printable(step) for step in e["loc"]], "msg": printable(e["msg"]), "type": e["type"]}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    # In the browser a malformed id in a URL is simply a page that does not exist.
    return render(request, "error.html", status_code=404, status=404, detail=gettext(MESSAGES[404]))


async def gone(request: Request, exc: Exception) -> Response:
    """Deleted while the request waited for it (say, a flip with its habit): as if it had never been there."""
    return await http_error(request, HTTPException(404, detail="Not found"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(Gone, gone)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(MemberRequired, member_required)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
