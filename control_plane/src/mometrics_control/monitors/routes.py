from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.monitors import service
from mometrics_control.monitors.schemas import (
    MonitorCreate,
    MonitorPage,
    MonitorRead,
    MonitorUpdate,
)

router = APIRouter(prefix="/monitors", tags=["monitors"])


@router.get("")
async def list_monitors(caller: CallerDep, session: SessionDep) -> MonitorPage:
    return MonitorPage(items=await service.list_monitors(session, caller.organization_id))


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


@router.get("/{monitor_id}")
async def get_monitor(monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> MonitorRead:
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


@router.delete("/{monitor_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_monitor(
    monitor_id: uuid.UUID, caller: CallerDep, session: SessionDep, redis: RedisDep
) -> Response:
    caller.require("member")
    await service.remove(session, redis, caller.organization_id, monitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
