"""Monitors as code: export to and import from JSON or YAML.

The document is `{"monitors": [...]}`, each item shaped like the body of
POST /monitors. Import upserts by name within the organisation and is all
or nothing: every item is validated inside one transaction, and a single
invalid item rolls everything back and returns every error, each field named
`monitors[<index>].<field>`.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.errors import FieldError, InvalidInput
from mometrics_control.models import Monitor
from mometrics_control.monitors import listing, service
from mometrics_control.monitors.schemas import MonitorCreate, MonitorUpdate

log = logging.getLogger("mometrics.monitors")

Format = Literal["json", "yaml"]
MAX_IMPORT_ITEMS = 1000


class ImportedItem(BaseModel):
    index: int
    id: uuid.UUID
    name: str
    action: Literal["created", "updated"]


class ImportResult(BaseModel):
    created: int
    updated: int
    is_dry_run: bool
    items: list[ImportedItem]


async def export_document(session: AsyncSession, organization_id: uuid.UUID) -> dict[str, Any]:
    monitors = list(
        await session.scalars(
            select(Monitor)
            .where(Monitor.organization_id == organization_id)
            .order_by(Monitor.name, Monitor.id)
        )
    )
    channels = await listing.channel_map(session, [m.id for m in monitors])
    fields = set(MonitorCreate.model_fields)
    items = []
    for monitor in monitors:
        read = service.to_read(monitor, channels.get(monitor.id, []))
        item = read.model_dump(mode="json", include=fields, exclude_none=True)
        if monitor.kind == "push":
            item.pop("regions", None)
        items.append(item)
    return {"monitors": items}


def render(document: dict[str, Any], output_format: Format) -> str:
    if output_format == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return json.dumps(document, indent=2)


def parse(raw: bytes, input_format: Format) -> list[Any]:
    """Parse the document and return its list of monitors."""
    try:
        text = raw.decode("utf-8")
        document = yaml.safe_load(text) if input_format == "yaml" else json.loads(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        raise InvalidInput.for_field("body", f"not valid {input_format}: {err}") from None
    if not isinstance(document, dict) or not isinstance(document.get("monitors"), list):
        raise InvalidInput.for_field("monitors", "the document needs a monitors list")
    items: list[Any] = document["monitors"]
    if len(items) > MAX_IMPORT_ITEMS:
        raise InvalidInput.for_field("monitors", f"at most {MAX_IMPORT_ITEMS} monitors per import")
    return items


def _prefixed(index: int, errors: list[FieldError]) -> list[FieldError]:
    return [FieldError(f"monitors[{index}].{e.field}", e.message) for e in errors]


def _validate_items(items: list[Any]) -> tuple[list[MonitorCreate | None], list[FieldError]]:
    bodies: list[MonitorCreate | None] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            body = MonitorCreate.model_validate(item)
        except ValidationError as err:
            bodies.append(None)
            errors += _prefixed(
                index,
                [
                    FieldError(".".join(str(p) for p in e["loc"]) or "item", e["msg"])
                    for e in err.errors()
                ],
            )
            continue
        if body.name in seen:
            errors.append(
                FieldError(
                    f"monitors[{index}].name", f"duplicates the name of monitors[{seen[body.name]}]"
                )
            )
        seen.setdefault(body.name, index)
        bodies.append(body)
    return bodies, errors


async def import_document(
    session: AsyncSession,
    redis: Redis,
    organization_id: uuid.UUID,
    items: list[Any],
    allow_private: bool,
    is_dry_run: bool,
) -> ImportResult:
    bodies, errors = _validate_items(items)
    existing: dict[str, list[Monitor]] = {}
    for monitor in await session.scalars(
        select(Monitor).where(Monitor.organization_id == organization_id).with_for_update()
    ):
        existing.setdefault(monitor.name, []).append(monitor)
    results: list[ImportedItem] = []
    for index, body in enumerate(bodies):
        if body is None:
            continue
        matches = existing.get(body.name, [])
        try:
            if len(matches) > 1:
                raise InvalidInput.for_field(
                    "name", f"{len(matches)} monitors share this name; rename them first"
                )
            if matches:
                monitor = matches[0]
                if monitor.kind != body.kind:
                    raise InvalidInput.for_field(
                        "kind", f"the existing monitor is {monitor.kind}; delete it to change kind"
                    )
                fields = set(MonitorUpdate.model_fields)
                if body.kind == "push":
                    fields.discard("regions")
                update = MonitorUpdate.model_validate(body.model_dump(include=fields))
                await service.apply_update(session, organization_id, monitor, update, allow_private)
                action: Literal["created", "updated"] = "updated"
            else:
                monitor = await service.add_new(session, organization_id, body, allow_private)
                action = "created"
        except InvalidInput as err:
            errors += _prefixed(index, err.errors or [FieldError("item", err.detail)])
            continue
        results.append(ImportedItem(index=index, id=monitor.id, name=body.name, action=action))
    if errors:
        await session.rollback()
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:10])
        raise InvalidInput(f"import rejected, nothing changed: {detail}", errors)
    if is_dry_run:
        await session.rollback()
    else:
        await session.flush()
        await session.commit()
        for item in results:
            await service.publish_change(redis, item.id)
        log.info(
            "monitors imported",
            extra={"organization_id": str(organization_id), "count": len(results)},
        )
    return ImportResult(
        created=sum(1 for r in results if r.action == "created"),
        updated=sum(1 for r in results if r.action == "updated"),
        is_dry_run=is_dry_run,
        items=results,
    )
