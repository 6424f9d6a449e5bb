from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from mometrics_control.api.deps import CallerDep, SessionDep, SettingsDep
from mometrics_control.api.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    paginate,
    parse_sort,
    split_page,
)
from mometrics_control.errors import FieldError, InvalidInput, NotFound
from mometrics_control.models import Channel
from mometrics_control.notifications.messages import test_payload
from mometrics_control.notifications.schemas import (
    ChannelCreate,
    ChannelPage,
    ChannelRead,
    validate_config,
)
from mometrics_control.notifications.senders import SendError, send

log = logging.getLogger("mometrics.notifications")

router = APIRouter(prefix="/channels", tags=["channels"])

_SECRET_KEYS = ("secret", "routing_key", "bot_token")


def _read(channel: Channel) -> ChannelRead:
    # Secrets are write-only: reads show that one is set, not its value.
    config = {
        key: ("********" if key in _SECRET_KEYS else value) for key, value in channel.config.items()
    }
    return ChannelRead(
        id=channel.id,
        kind=channel.kind,  # type: ignore[arg-type]
        name=channel.name,
        config=config,
        created_at=channel.created_at,
    )


_SORTS = {"name": Channel.name, "created_at": Channel.created_at}


@router.get("")
async def list_channels(
    caller: CallerDep,
    session: SessionDep,
    sort: Annotated[str, Query(description="name or created_at, - in front for descending")] = (
        "name"
    ),
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ChannelPage:
    """Notification channels of the caller's organisation, one page at a time."""
    sorting = parse_sort(sort, _SORTS)
    query = select(Channel).where(Channel.organization_id == caller.organization_id)
    rows = list(await session.scalars(paginate(query, sorting, Channel.id, cursor, limit)))
    channels, next_cursor = split_page(rows, sorting, limit)
    return ChannelPage(items=[_read(c) for c in channels], next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(
    body: ChannelCreate, caller: CallerDep, session: SessionDep
) -> ChannelRead:
    caller.require("admin")
    try:
        config = validate_config(body.kind, body.config)
    except ValidationError as err:
        raise InvalidInput(
            "invalid channel config",
            [
                FieldError("config." + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in err.errors()
            ],
        ) from None
    except ValueError as err:
        raise InvalidInput.for_field("config.url", str(err)) from None
    channel = Channel(
        id=uuid.uuid4(),
        organization_id=caller.organization_id,
        kind=body.kind,
        name=body.name,
        config=config,
    )
    session.add(channel)
    await session.commit()
    await session.refresh(channel)
    return _read(channel)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(channel_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    caller.require("admin")
    channel = await session.get(Channel, channel_id)
    if channel is None or channel.organization_id != caller.organization_id:
        raise NotFound(f"channel {channel_id} not found")
    await session.delete(channel)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class ChannelTestResult(BaseModel):
    is_delivered: bool
    # Why the send failed; None when it was delivered.
    error: str | None = None


@router.post("/{channel_id}/test")
async def test_channel(
    channel_id: uuid.UUID, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> ChannelTestResult:
    """Send a test notification now, once, and report whether it was accepted."""
    caller.require("admin")
    channel = await session.get(Channel, channel_id)
    if channel is None or channel.organization_id != caller.organization_id:
        raise NotFound(f"channel {channel_id} not found")
    payload = test_payload(channel.name, dt.datetime.now(dt.UTC))
    try:
        await send(settings, channel.kind, channel.config, payload, f"test-{uuid.uuid4()}")
    except SendError as err:
        log.info("test notification failed", extra={"channel_id": str(channel_id)})
        return ChannelTestResult(is_delivered=False, error=str(err))
    return ChannelTestResult(is_delivered=True)
