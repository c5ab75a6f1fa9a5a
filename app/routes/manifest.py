"""The web app manifest and the service worker, so Coinflip lives on a phone's home screen and opens with no
signal, under its sub-path if it has one."""

import functools
import hashlib
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.deps import OptionalLogin
from app.templating import HTMX, STATIC_DIR, app_root, render, static_version

router = APIRouter()
# What the app needs to open offline, besides Today itself (kept as last seen) and /offline.
SHELL = ("app.css", "app.js", "offline.js", HTMX, "icon.svg", "icon-192.png")

THEME = "#2f5fd0"
BACKGROUND = "#f6f4ef"


@router.get("/manifest.webmanifest", include_in_schema=False)
async def show_manifest(request: Request) -> JSONResponse:
    root = request.scope.get("root_path", "")
    icons = [
        {"src": f"{root}/static/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
        for size in (192, 512)
        for purpose in ("any", "maskable")
    ]
    manifest = {
        "name": "Coinflip",
        "short_name": "Coinflip",
        "description": "Flip a coin before the effort; reflect on the effort itself.",
        "start_url": f"{root}/",
        "scope": f"{root}/",
        "display": "standalone",
        "background_color": BACKGROUND,
        "theme_color": THEME,
        "icons": icons,
    }
    return JSONResponse(manifest, media_type="application/manifest+json")


@functools.cache
def worker_source() -> str:
    return (STATIC_DIR / "sw.js").read_text()


@router.get("/sw.js", include_in_schema=False)
async def show_service_worker(request: Request) -> Response:
    """static/sw.js with the sub-path and the shell's versioned files written in: a release that changes any of
    them changes the worker too, so an installed app takes the new shell."""
    root = app_root(request)
    shell = [f"{root}/static/{path}?v={static_version(path)}" for path in SHELL]
    version = hashlib.sha256("".join([worker_source(), *shell]).encode()).hexdigest()[:10]
    body = worker_source().replace('"/static/sw-push.js"', json.dumps(f"{root}/static/sw-push.js"), 1)
    body = body.replace('"__ROOT__"', json.dumps(root)).replace('["__SHELL__"]', json.dumps(shell))
    return Response(
        body.replace("__VERSION__", version),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": f"{root}/"},
    )


@router.get("/offline", include_in_schema=False)
async def show_offline(request: Request, login: OptionalLogin) -> Response:
    """The page the service worker shows for a page it has not kept. A static file could not follow the page's
    language, so it is rendered here in the request's (the member's choice, found with the login, else the
    browser's), and the worker keeps it anew each time it keeps Today: offline, it is in Today's language."""
    return render(request, "offline.html")
