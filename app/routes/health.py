"""The health check that Docker and uptime monitors call."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.deps import Db

router = APIRouter()


def ping(db: Session) -> None:
    db.connection().execute(text("SELECT 1"))


@router.get("/healthz")
async def healthz(db: Db) -> JSONResponse:
    try:
        await db.read(ping)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
