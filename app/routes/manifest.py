"""The web app manifest, so Coinflip can live on a phone's home screen, under its sub-path if it has one."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()

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


@router.get("/sw.js", include_in_schema=False)
async def show_service_worker(request: Request) -> Response:
    """The service worker, at the root so that its scope is the whole app. Reminders' push handling is in
    static/sw-push.js."""
    root = request.scope.get("root_path", "")
    return Response(f'importScripts("{root}/static/sw-push.js");\n', media_type="text/javascript")
