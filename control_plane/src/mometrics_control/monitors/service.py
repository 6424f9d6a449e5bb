"""Monitor writes and reads, scoped to one organisation."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting.settings import load_settings
from mometrics_control.alerting.validation import check_alert_links
from mometrics_control.errors import FieldError, InvalidInput, NotFound
from mometrics_control.models import Channel, Monitor, MonitorChannel
from mometrics_control.monitors.schemas import (
    PUSH_REGION,
    QUORUM_ALL,
    HttpOptions,
    MonitorCreate,
    MonitorRead,
    MonitorUpdate,
    validate_target,
)
from mometrics_control.netpolicy import find_internal_address
from mometrics_control.push.schemas import PushOptions

log = logging.getLogger("mometrics.monitors")

# Gateways subscribe to this channel and re-send assignments on a change.
MONITOR_CHANGES_CHANNEL = "mometrics:monitor-changes"


def to_read(monitor: Monitor, channel_ids: list[uuid.UUID]) -> MonitorRead:
    is_http = monitor.kind == "http"
    return MonitorRead(
        id=monitor.id,
        name=monitor.name,
        kind=monitor.kind,  # type: ignore[arg-type]
        url=monitor.target if is_http else None,
        target=None if is_http else monitor.target,
        interval_seconds=monitor.interval_seconds,
        timeout_seconds=monitor.timeout_seconds,
        regions=list(monitor.regions),
        paused=monitor.paused,
        tags=list(monitor.tags),
        options=dict(monitor.options),
        channel_ids=channel_ids,
        quorum=monitor.quorum,
        alerting=load_settings(monitor.alert_settings),
        parent_id=monitor.parent_id,
        version=monitor.version,
        created_at=monitor.created_at,
        updated_at=monitor.updated_at,
    )


async def check_definition(
    kind: str,
    url: str | None,
    target: str | None,
    interval_s: int,
    timeout_s: float,
    options: dict[str, Any],
    regions: list[str],
    quorum: int,
    allow_private: bool,
) -> str:
    """Validate the cross-field rules of a monitor and return its target."""
    field = "url" if kind == "http" else "target"
    try:
        stored_target = validate_target(kind, url, target)
    except ValueError as err:
        raise InvalidInput.for_field(field, str(err)) from None
    _check_regions_of_kind(kind, regions)
    if timeout_s > interval_s:
        raise InvalidInput.for_field(
            "timeout_seconds", f"must not exceed interval_seconds ({interval_s})"
        )
    if quorum > len(regions) and quorum != QUORUM_ALL:
        raise InvalidInput.for_field(
            "quorum", f"must not exceed the number of regions ({len(regions)})"
        )
    options_models: dict[str, type[BaseModel]] = {"http": HttpOptions, "push": PushOptions}
    options_model = options_models.get(kind)
    if options_model is not None:
        try:
            options_model.model_validate(options)
        except ValidationError as err:
            raise InvalidInput(
                "invalid options",
                [
                    FieldError("options." + ".".join(str(p) for p in error["loc"]), error["msg"])
                    for error in err.errors()
                ],
            ) from None
    if not allow_private and kind != "push":
        host = urlsplit(stored_target).hostname if kind == "http" else stored_target
        host = (host or "").rsplit(":", 1)[0] if kind != "http" else host or ""
        internal = await find_internal_address(host)
        if internal is not None:
            raise InvalidInput.for_field(
                field,
                f"{host} resolves to the internal address {internal}; internal "
                "targets are off (MOMETRICS_ALLOW_PRIVATE_TARGETS)",
            )
    return stored_target


def _check_regions_of_kind(kind: str, regions: list[str]) -> None:
    if kind == "push":
        if regions not in ([], [PUSH_REGION]):
            raise InvalidInput.for_field(
                "regions", f"push monitors have the one region {PUSH_REGION}"
            )
        return
    if not regions:
        raise InvalidInput.for_field("regions", "at least one region is required")
    if PUSH_REGION in regions:
        raise InvalidInput.for_field("regions", f"{PUSH_REGION} is reserved for push monitors")


def regions_of(kind: str, regions: list[str]) -> list[str]:
    """Return the stored regions: push monitors always have the one region "push"."""
    return [PUSH_REGION] if kind == "push" else regions


async def _check_channels(
    session: AsyncSession, organization_id: uuid.UUID, channel_ids: list[uuid.UUID]
) -> None:
    if not channel_ids:
        return
    found = set(
        await session.scalars(
            select(Channel.id).where(
                Channel.id.in_(channel_ids), Channel.organization_id == organization_id
            )
        )
    )
    for channel_id in channel_ids:
        if channel_id not in found:
            raise InvalidInput.for_field("channel_ids", f"channel {channel_id} not found")


async def channel_ids_of(session: AsyncSession, monitor_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await session.scalars(
            select(MonitorChannel.channel_id).where(MonitorChannel.monitor_id == monitor_id)
        )
    )


async def publish_change(redis: Redis, monitor_id: uuid.UUID) -> None:
    try:
        await redis.publish(MONITOR_CHANGES_CHANNEL, str(monitor_id))
    except (RedisError, OSError):
        # Gateways also reload monitors periodically, so a lost message only
        # delays the change.
        log.warning("could not publish monitor change", extra={"monitor_id": str(monitor_id)})


async def create(
    session: AsyncSession,
    redis: Redis,
    organization_id: uuid.UUID,
    body: MonitorCreate,
    allow_private: bool,
) -> MonitorRead:
    monitor = await add_new(session, organization_id, body, allow_private)
    await session.commit()
    await session.refresh(monitor)
    log.info(
        "monitor created",
        extra={"monitor_id": str(monitor.id), "organization_id": str(organization_id)},
    )
    await publish_change(redis, monitor.id)
    return to_read(monitor, body.channel_ids)


async def add_new(
    session: AsyncSession, organization_id: uuid.UUID, body: MonitorCreate, allow_private: bool
) -> Monitor:
    """Validate and add a new monitor to the session, without committing."""
    target = await check_definition(
        body.kind,
        body.url,
        body.target,
        body.interval_seconds,
        body.timeout_seconds,
        body.options,
        body.regions,
        int(body.quorum),  # the schema's validator already turned words into ints
        allow_private,
    )
    await _check_channels(session, organization_id, body.channel_ids)
    await check_alert_links(session, organization_id, None, body.parent_id, body.alerting)
    monitor = Monitor(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=body.name,
        kind=body.kind,
        target=target,
        interval_seconds=body.interval_seconds,
        timeout_seconds=body.timeout_seconds,
        regions=regions_of(body.kind, body.regions),
        paused=body.paused,
        tags=body.tags,
        options=body.options,
        quorum=body.quorum,
        alert_settings=body.alerting.model_dump(mode="json"),
        parent_id=body.parent_id,
        version=1,
    )
    session.add(monitor)
    await session.flush()
    session.add_all(
        MonitorChannel(monitor_id=monitor.id, channel_id=channel_id)
        for channel_id in body.channel_ids
    )
    return monitor


async def get_owned(
    session: AsyncSession, organization_id: uuid.UUID, monitor_id: uuid.UUID
) -> Monitor:
    monitor = await session.get(Monitor, monitor_id)
    if monitor is None or monitor.organization_id != organization_id:
        raise NotFound(f"monitor {monitor_id} not found")
    return monitor


async def list_monitors(session: AsyncSession, organization_id: uuid.UUID) -> list[MonitorRead]:
    monitors = list(
        await session.scalars(
            select(Monitor)
            .where(Monitor.organization_id == organization_id)
            .order_by(Monitor.name, Monitor.id)
        )
    )
    links = await session.execute(
        select(MonitorChannel.monitor_id, MonitorChannel.channel_id).where(
            MonitorChannel.monitor_id.in_([m.id for m in monitors])
        )
    )
    channels: dict[uuid.UUID, list[uuid.UUID]] = {}
    for monitor_id, channel_id in links:
        channels.setdefault(monitor_id, []).append(channel_id)
    return [to_read(monitor, channels.get(monitor.id, [])) for monitor in monitors]


async def update(
    session: AsyncSession,
    redis: Redis,
    organization_id: uuid.UUID,
    monitor_id: uuid.UUID,
    body: MonitorUpdate,
    allow_private: bool,
) -> MonitorRead:
    monitor = await get_owned(session, organization_id, monitor_id)
    await apply_update(session, organization_id, monitor, body, allow_private)
    await session.commit()
    await session.refresh(monitor)
    log.info("monitor updated", extra={"monitor_id": str(monitor.id)})
    await publish_change(redis, monitor.id)
    return to_read(monitor, await channel_ids_of(session, monitor.id))


async def apply_update(
    session: AsyncSession,
    organization_id: uuid.UUID,
    monitor: Monitor,
    body: MonitorUpdate,
    allow_private: bool,
) -> None:
    """Validate and apply the fields set in `body`, without committing."""
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "interval_seconds", "timeout_seconds", "regions", "options"):
        if field in changes and changes[field] is None:
            raise InvalidInput.for_field(field, "must not be null")
    is_http = monitor.kind == "http"
    url = changes.get("url", monitor.target if is_http else None)
    target = changes.get("target", None if is_http else monitor.target)
    interval_s = changes.get("interval_seconds", monitor.interval_seconds)
    timeout_s = changes.get("timeout_seconds", monitor.timeout_seconds)
    options = changes.get("options", monitor.options)
    regions = changes.get("regions", monitor.regions)
    quorum = changes.get("quorum", monitor.quorum)
    stored_target = await check_definition(
        monitor.kind, url, target, interval_s, timeout_s, options, regions, quorum, allow_private
    )
    if "regions" in changes:
        changes["regions"] = regions_of(monitor.kind, changes["regions"])
    channel_ids = changes.pop("channel_ids", None)
    if channel_ids is not None:
        await _check_channels(session, organization_id, channel_ids)
        await session.execute(delete(MonitorChannel).where(MonitorChannel.monitor_id == monitor.id))
        session.add_all(
            MonitorChannel(monitor_id=monitor.id, channel_id=channel_id)
            for channel_id in channel_ids
        )
    monitor.target = stored_target
    for field in ("name", "interval_seconds", "timeout_seconds", "regions", "options", "quorum"):
        if field in changes:
            setattr(monitor, field, changes[field])
    if changes.get("paused") is not None:
        monitor.paused = changes["paused"]
    if changes.get("tags") is not None:
        monitor.tags = changes["tags"]
    if "alerting" in changes or "parent_id" in changes:
        alerting = body.alerting or load_settings(monitor.alert_settings)
        parent_id = changes.get("parent_id", monitor.parent_id)
        await check_alert_links(session, organization_id, monitor.id, parent_id, alerting)
        monitor.alert_settings = alerting.model_dump(mode="json")
        monitor.parent_id = parent_id
    monitor.version += 1


async def remove(
    session: AsyncSession, redis: Redis, organization_id: uuid.UUID, monitor_id: uuid.UUID
) -> None:
    monitor = await get_owned(session, organization_id, monitor_id)
    await session.delete(monitor)
    await session.commit()
    log.info("monitor deleted", extra={"monitor_id": str(monitor_id)})
    await publish_change(redis, monitor_id)
