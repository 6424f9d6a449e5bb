"""The REST API application: routes, errors, CORS and the built dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from sqlalchemy import text

from mometrics_control import __version__
from mometrics_control.agents.routes import router as agents_router
from mometrics_control.alerting.routes import router as maintenance_router
from mometrics_control.api.deps import scope_guard
from mometrics_control.api.etag import ETagMiddleware
from mometrics_control.api.openapi import install_openapi
from mometrics_control.api.problems import install_handlers, problem
from mometrics_control.apikeys.routes import router as api_keys_router
from mometrics_control.auth.routes import router as auth_router
from mometrics_control.config import Settings
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.incidents.routes import router as incidents_router
from mometrics_control.invitations.routes import accept_router as invitation_accept_router
from mometrics_control.invitations.routes import router as invitations_router
from mometrics_control.monitors.routes import router as monitors_router
from mometrics_control.notifications.routes import router as channels_router
from mometrics_control.orgs.routes import router as organizations_router
from mometrics_control.push.routes import public_router as push_public_router
from mometrics_control.push.routes import router as push_router
from mometrics_control.results.routes import router as results_router
from mometrics_control.statuspages.routes import public_router as status_public_router
from mometrics_control.statuspages.routes import router as status_page_router

log = logging.getLogger("mometrics.api")

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.redis = Redis.from_url(settings.redis_url)
        log.info("api started", extra={"version": __version__})
        yield
        await app.state.redis.aclose()
        await engine.dispose()
        log.info("api stopped")

    app = FastAPI(
        title="Mometrics API",
        version=__version__,
        description="Multi-region uptime monitoring: monitors, results, uptime and alerts.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_handlers(app)
    install_openapi(app)
    app.add_middleware(ETagMiddleware, path_prefix=API_PREFIX + "/")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Organization-Id"],
            expose_headers=["ETag"],
        )

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(organizations_router)
    api.include_router(invitations_router)
    api.include_router(invitation_accept_router)
    api.include_router(api_keys_router)
    # API keys reach these only with the area's scope (read for GET, write otherwise).
    for router, area in (
        (monitors_router, "monitors"),
        (push_router, "monitors"),
        (maintenance_router, "monitors"),
        (results_router, "results"),
        (agents_router, "agents"),
        (channels_router, "channels"),
        (incidents_router, "incidents"),
        (status_page_router, "status-page"),
    ):
        api.include_router(router, dependencies=[Depends(scope_guard(area))])
    api.include_router(push_public_router)
    api.include_router(status_public_router)

    @api.get("/health", tags=["health"])
    async def health(request: Request) -> JSONResponse:
        """Liveness and readiness: 200 when PostgreSQL and Redis answer."""
        checks = {}
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as err:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {type(err).__name__}"
        try:
            await request.app.state.redis.ping()
            checks["redis"] = "ok"
        except Exception as err:  # noqa: BLE001 - any failure means not ready
            checks["redis"] = f"error: {type(err).__name__}"
        is_ok = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if is_ok else "unavailable", "checks": checks},
            status_code=200 if is_ok else 503,
        )

    @api.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def unknown_route(path: str) -> JSONResponse:
        return problem(404, "Not found", f"no API route {API_PREFIX}/{path}")

    app.include_router(api)
    if settings.dashboard_dir:
        _mount_dashboard(app, Path(settings.dashboard_dir))
    return app


def _mount_dashboard(app: FastAPI, folder: Path) -> None:
    index = folder / "index.html"
    if not index.is_file():
        log.warning("dashboard build not found; serving the API only", extra={"path": folder})
        return
    if (folder / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=folder / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def dashboard(path: str) -> FileResponse:
        # Client-side routes all load index.html; real files are served as is.
        # A plain def: FastAPI runs it in a thread, so the file checks block nothing.
        candidate = (folder / path).resolve()
        if path and candidate.is_file() and folder.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
