from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from mometrics_control.api.deps import CallerDep, SessionDep
from mometrics_control.api.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    paginate,
    parse_sort,
    split_page,
)
from mometrics_control.apikeys import service
from mometrics_control.apikeys.models import ApiKey
from mometrics_control.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage

router = APIRouter(prefix="/api-keys", tags=["api-keys"])

_SORTS = {"created_at": ApiKey.created_at, "name": ApiKey.name}


@router.get("")
async def list_api_keys(
    caller: CallerDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    sort: str = "created_at",
) -> ApiKeyPage:
    """API keys of the organisation, revoked ones included; the keys themselves are never shown."""
    caller.require_user()
    caller.require("admin")
    sorting = parse_sort(sort, _SORTS)
    query = select(ApiKey).where(ApiKey.organization_id == caller.organization_id)
    rows = list(await session.scalars(paginate(query, sorting, ApiKey.id, cursor, limit)))
    items, next_cursor = split_page(rows, sorting, limit)
    return ApiKeyPage(items=[service.to_read(row) for row in items], next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyCreate, caller: CallerDep, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key; the response carries the key, shown only this once.

    The key acts with its creator's role in this organisation, narrowed to
    its scopes. Send it as `Authorization: Bearer mmk_...`.
    """
    caller.require_user()
    caller.require("member")
    return await service.create(session, caller.organization_id, caller.user.id, body)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    """Revoke an API key; requests with it fail from now on."""
    caller.require_user()
    caller.require("admin")
    await service.revoke(session, caller.organization_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
