from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.monitors import service as monitors
from mometrics_control.push import service
from mometrics_control.push.schemas import PingAccepted, PushTokenRead

# Authenticated: issuing the secret URL of a push monitor.
router = APIRouter(tags=["push"])
# Public: the URL itself is the credential.
public_router = APIRouter(tags=["push"])


@router.post("/monitors/{monitor_id}/push-token")
async def issue_push_token(
    monitor_id: uuid.UUID, request: Request, caller: CallerDep, session: SessionDep
) -> PushTokenRead:
    """Issue the secret push URL of a push monitor, shown only this once.

    Issuing a new URL retires the previous one.
    """
    caller.require("member")
    monitor = await monitors.get_owned(session, caller.organization_id, monitor_id)
    token = await service.issue_token(session, monitor)
    return PushTokenRead(token=token, url=service.status_url(str(request.base_url), token))


@public_router.get("/push/{token}", operation_id="push_ping_get")
@public_router.post("/push/{token}", operation_id="push_ping_post")
async def ping(
    token: Annotated[str, Path(max_length=100)],
    session: SessionDep,
    status: Literal["up", "down"] = "up",
    msg: Annotated[str | None, Query(max_length=1000)] = None,
    latency_ms: Annotated[float | None, Query(ge=0, le=3_600_000)] = None,
) -> PingAccepted:
    """Record a heartbeat of a push monitor; no authentication besides the URL.

    A cron job calls it when it finishes, with status=down and a message
    when it failed. No ping within the interval plus grace turns the monitor
    down.
    """
    from mometrics_control.gateway.main import enqueue_transitions

    _, transitions = await service.record_ping(session, token, status, msg, latency_ms)
    if transitions:
        await enqueue_transitions(transitions)
    return PingAccepted()
