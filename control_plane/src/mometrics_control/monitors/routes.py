from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.api.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery
from mometrics_control.monitors import bulk, listing, service, testnow
from mometrics_control.monitors.schemas import (
    Kind,
    MonitorCreate,
    MonitorPage,
    MonitorRead,
    MonitorUpdate,
)

router = APIRouter(prefix="/monitors", tags=["monitors"])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'A document `{"monitors": [...]}`, each item shaped like MonitorCreate.',
        "content": {
            media_type: {"schema": {"$ref": "#/components/schemas/MonitorDocument"}}
            for media_type in ("application/json", *_YAML_TYPES)
        },
    }
}


@router.get("")
async def list_monitors(
    caller: CallerDep,
    session: SessionDep,
    tag: Annotated[
        list[str], Query(max_length=32, description="Only monitors with every tag given.")
    ] = [],  # noqa: B006 - FastAPI copies query defaults per request
    kind: Kind | None = None,
    paused: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name.")] = None,
    sort: Annotated[
        str,
        Query(
            description="name, created_at, updated_at or interval_seconds; - prefix for descending."
        ),
    ] = "name",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> MonitorPage:
    """Monitors of the organisation, one page at a time."""
    return await listing.list_page(
        session,
        caller.organization_id,
        tags=tag,
        kind=kind,
        paused=paused,
        name_contains=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_monitor(
    body: MonitorCreate,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> MonitorRead:
    caller.require("member")
    return await service.create(
        session, redis, caller.organization_id, body, settings.allow_private_targets
    )


@router.get(
    "/export",
    responses={
        200: {
            "description": "The document, in JSON or YAML.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/MonitorDocument"}},
                "application/yaml": {"schema": {"$ref": "#/components/schemas/MonitorDocument"}},
            },
        }
    },
    response_class=Response,
)
async def export_monitors(
    caller: CallerDep, session: SessionDep, format: bulk.Format = "json"
) -> Response:
    """Every monitor of the organisation as a document that POST /monitors/import accepts."""
    document = await bulk.export_document(session, caller.organization_id)
    media_type = "application/yaml" if format == "yaml" else "application/json"
    return Response(
        bulk.render(document, format),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="monitors.{format}"'},
    )


@router.post("/import", openapi_extra=_IMPORT_BODY)
async def import_monitors(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    dry_run: bool = False,
) -> bulk.ImportResult:
    """Create or update monitors by name from a JSON or YAML document, all or nothing.

    The format follows Content-Type (application/json, or application/yaml
    and its aliases). Monitors absent from the document are left alone. With
    dry_run=true nothing is written and the response shows what would change.
    """
    caller.require("member")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    input_format: bulk.Format = "yaml" if content_type in _YAML_TYPES else "json"
    items = bulk.parse(await request.body(), input_format)
    return await bulk.import_document(
        session, redis, caller.organization_id, items, settings.allow_private_targets, dry_run
    )


@router.post("/test", responses={429: {"description": "Too many test runs; see Retry-After."}})
async def test_draft_monitor(
    body: MonitorCreate,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> testnow.CheckRunRead:
    """Run an unsaved monitor once in each of its regions; nothing is stored.

    The body is validated exactly as POST /monitors validates it. The
    response comes when every region has replied or the monitor's timeout
    plus 5 s has passed. Regions without an outcome are listed in `missing`.
    """
    caller.require("member")
    return await testnow.run_draft(session, redis, settings, caller.organization_id, body)


@router.get("/{monitor_id}")
async def get_monitor(monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> MonitorRead:
    """One monitor; answers 304 to a matching If-None-Match."""
    monitor = await service.get_owned(session, caller.organization_id, monitor_id)
    return service.to_read(monitor, await service.channel_ids_of(session, monitor.id))


@router.patch("/{monitor_id}")
async def update_monitor(
    monitor_id: uuid.UUID,
    body: MonitorUpdate,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> MonitorRead:
    caller.require("member")
    return await service.update(
        session,
        redis,
        caller.organization_id,
        monitor_id,
        body,
        settings.allow_private_targets,
    )


@router.post(
    "/{monitor_id}/test",
    responses={429: {"description": "Too many test runs; see Retry-After."}},
)
async def test_monitor(
    monitor_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> testnow.CheckRunRead:
    """Run a saved monitor once in each of its regions, even when paused.

    The outcomes are not stored and count in no uptime figure or alert.
    """
    caller.require("member")
    return await testnow.run_saved(session, redis, settings, caller.organization_id, monitor_id)


@router.post("/{monitor_id}/pause")
async def pause_monitor(
    monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep, redis: RedisDep
) -> MonitorRead:
    """Stop checking the monitor; its results and incidents stay."""
    caller.require("member")
    return await listing.set_paused(session, redis, caller.organization_id, monitor_id, True)


@router.post("/{monitor_id}/resume")
async def resume_monitor(
    monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep, redis: RedisDep
) -> MonitorRead:
    caller.require("member")
    return await listing.set_paused(session, redis, caller.organization_id, monitor_id, False)


@router.delete("/{monitor_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_monitor(
    monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep, redis: RedisDep
) -> Response:
    caller.require("member")
    await service.remove(session, redis, caller.organization_id, monitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
