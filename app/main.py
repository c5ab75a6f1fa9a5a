"""The table of contents: build the app from settings, middleware, static files and routers."""

from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import errors
from app.config import Settings
from app.db import make_engine
from app.deps import check_csrf
from app.headers import SecurityHeaders
from app.routes import api, auth, enhancers, flips, habits, health, members, settings
from app.templating import STATIC_DIR


def create_app(config: Settings | None = None) -> FastAPI:
    config = config or Settings()
    root_path = urlsplit(config.public_url).path.rstrip("/") if config.public_url else ""
    app = FastAPI(title="Coinflip", root_path=root_path, dependencies=[Depends(check_csrf)])
    app.state.settings = config
    app.state.engine = make_engine(config.db_url)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, members, flips, habits, enhancers, settings, api, health):
        app.include_router(module.router)
    errors.install(app)
    return app
