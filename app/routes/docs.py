"""The JSON API's documentation at /docs: Swagger UI served from static/, so it works on a LAN with no
internet, under the same Content-Security-Policy as every other page."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.templating import render

router = APIRouter()

SWAGGER_UI = "swagger-ui-5.35.0"  # the folder in static/: swagger-ui-dist from npm, its bundle and stylesheet


@router.get("/docs", include_in_schema=False)
async def show_api_docs(request: Request) -> HTMLResponse:
    return render(request, "docs.html", swagger_ui=SWAGGER_UI)
