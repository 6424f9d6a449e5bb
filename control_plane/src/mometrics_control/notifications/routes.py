from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from pydantic import ValidationError
from sqlalchemy import select

from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.errors import FieldError, InvalidInput, NotFound
from mometrics_control.models import Channel
from mometrics_control.notifications.schemas import (
    ChannelCreate,
    ChannelPage,
    ChannelRead,
    validate_config,
)

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


@router.get("")
async def list_channels(caller: CallerDep, session: SessionDep) -> ChannelPage:
    channels = await session.scalars(
        select(Channel)
        .where(Channel.organization_id == caller.organization_id)
        .order_by(Channel.name)
    )
    return ChannelPage(items=[_read(c) for c in channels])


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
