"""The table of contents: build the app from settings, middleware, static files and routers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import errors, reminders
from app.backup import DailyBackups
from app.config import Settings
from app.db import Database, make_engine
from app.deps import check_csrf, get_now
from app.headers import AllowedHosts, BodyLimit, SecurityHeaders, SubPath
from app.i18n import Languages
from app.notify import Notifier
from app.routeindex import RouteIndex
from app.routes import (
    api,
    auth,
    docs,
    enhancers,
    flips,
    habits,
    health,
    insights,
    manifest,
    members,
    pleasures,
    settings,
)
from app.routes import reminders as reminder_pages
from app.templating import STATIC_DIR
from app.throttle import HASHES_AT_ONCE

# The OpenAPI document (and /docs) describes what scripts may rely on: the JSON API and the health check.
# The pages' form posts are the browser's business and may change with any release.
PAGES = (auth, members, flips, habits, enhancers, insights, pleasures, reminder_pages, settings, docs, manifest)
INTERFACES = (*api.routers, health.router)


def create_app(config: Settings | None = None) -> FastAPI:
    config = config or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.hash_slots = asyncio.Semaphore(HASHES_AT_ONCE)  # see app.throttle
        backups = DailyBackups(config)
        backups.start()
        dispatcher = None
        if config.send_reminders:  # every worker runs one: the database lets each reminder out once
            dispatcher = asyncio.create_task(reminders.dispatch(app.state.db, app.state.notifier))
        yield
        if dispatcher is not None:
            dispatcher.cancel()
            with suppress(asyncio.CancelledError):
                await dispatcher
        backups.stop()
        app.state.db.close()

    # /docs is the app's own page (app/routes/docs.py): FastAPI's loads Swagger UI from a CDN.
    # Every request reads the clock once (get_now): the rules it runs and the page it shows see the same moment.
    # Starlette's trailing-slash redirect names the Host header: errors.slash_twin redirects by path instead.
    app = FastAPI(
        title="Coinflip",
        lifespan=lifespan,
        dependencies=[Depends(check_csrf), Depends(get_now)],
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.settings = config
    app.state.engine = make_engine(config.db_url)
    app.state.db = Database(app.state.engine)  # how requests reach the database: app/db.py
    app.state.notifier = Notifier(config)  # Web Push and Apprise: app/notify.py
    # Compression is safe with the CSRF token in pages: SameSite=Lax keeps cookies off the cross-site
    # requests a BREACH-style attack needs.
    app.add_middleware(Languages)  # inside SubPath: it reads the path the routes see
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(BodyLimit, refuse=errors.refusal(413, "Request body too large"))
    app.add_middleware(AllowedHosts, hosts=config.host_names, refuse=errors.refusal(400, "Unknown host"))
    app.add_middleware(SecurityHeaders)
    app.add_middleware(SubPath, root_path=config.root_path)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.forwarded_allow_ips)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The API first: a router tries its routes in order, and scripts call the API more often than pages load.
    for router in INTERFACES:
        app.include_router(router)
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)
    app.router.middleware_stack = RouteIndex(app.router)  # a request tries only the routes it can match
    errors.install(app)
    return app
