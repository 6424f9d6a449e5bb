from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response, status

from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.statuspages import service
from mometrics_control.statuspages.badge import colour_of, format_uptime, render_badge
from mometrics_control.statuspages.schemas import (
    SLUG_PATTERN,
    PublicStatusPage,
    StatusPageRead,
    StatusPageWrite,
)

# Authenticated: the organisation's page settings.
router = APIRouter(prefix="/status-page", tags=["status pages"])
# Public, read-only: the page itself and the badges.
public_router = APIRouter(tags=["status pages"])

# Public reads may be cached briefly by browsers and proxies.
_PUBLIC_CACHE = "public, max-age=30"


def _liveness_s(settings: SettingsDep) -> float:
    return float(settings.heartbeat_interval_s * settings.liveness_heartbeats)


@router.get("")
async def get_status_page(
    request: Request, caller: CallerDep, session: SessionDep
) -> StatusPageRead:
    return await service.read(session, caller.organization_id, str(request.base_url))


@router.put("")
async def put_status_page(
    body: StatusPageWrite, request: Request, caller: CallerDep, session: SessionDep
) -> StatusPageRead:
    """Create or replace the status page: its slug, title and published monitors."""
    caller.require("admin")
    await service.write(session, caller.organization_id, body)
    return await service.read(session, caller.organization_id, str(request.base_url))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_status_page(caller: CallerDep, session: SessionDep) -> Response:
    caller.require("admin")
    await service.remove(session, caller.organization_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public_router.get("/status/{slug}")
async def public_status_page(
    slug: Annotated[str, Path(pattern=SLUG_PATTERN)],
    response: Response,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> PublicStatusPage:
    """The public status page: no authentication, published monitors only."""
    response.headers["Cache-Control"] = _PUBLIC_CACHE
    return await service.public_page(session, redis, slug, _liveness_s(settings))


@public_router.get(
    "/badge/{public_id}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}},
)
async def uptime_badge(
    public_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    window: Literal["24h", "7d", "30d"] = "30d",
) -> Response:
    """An SVG uptime badge of a published monitor, for README files and web pages."""
    uptime = await service.badge_uptime(session, redis, public_id, window, _liveness_s(settings))
    svg = render_badge(f"uptime {window}", format_uptime(uptime), colour_of(uptime))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": _PUBLIC_CACHE})
