"""Creation, listing, revocation and checking of API keys.

A key is `mmk_` followed by 43 URL-safe characters. Only its SHA-256 is
stored, so the key is shown once, when it is created.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.apikeys.models import ApiKey
from mometrics_control.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.errors import InvalidInput, NotFound, Unauthenticated
from mometrics_control.models import Membership, User

log = logging.getLogger("mometrics.apikeys")

KEY_PREFIX = "mmk_"
# last_used_at is written at most this often per key, to spare a write per request.
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def to_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_by=key.created_by,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


async def create(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID, body: ApiKeyCreate
) -> ApiKeyCreated:
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise InvalidInput.for_field("expires_at", "must include a time zone offset")
        if body.expires_at <= dt.datetime.now(dt.UTC):
            raise InvalidInput.for_field("expires_at", "must be in the future")
    key = KEY_PREFIX + new_secret()
    row = ApiKey(
        id=uuid.uuid4(),
        organization_id=organization_id,
        created_by=user_id,
        name=body.name,
        prefix=key[:12],
        key_hash=hash_secret(key),
        scopes=sorted(set(body.scopes)),
        expires_at=body.expires_at,
    )
    session.add(row)
    await session.commit()
    await session.refresh(row)
    log.info(
        "api key created",
        extra={"api_key_id": str(row.id), "organization_id": str(organization_id)},
    )
    return ApiKeyCreated(**to_read(row).model_dump(), key=key)


async def revoke(session: AsyncSession, organization_id: uuid.UUID, key_id: uuid.UUID) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None or key.organization_id != organization_id:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
        await session.commit()
        log.info("api key revoked", extra={"api_key_id": str(key_id)})


async def authenticate(
    session: AsyncSession, key: str, organization_id: uuid.UUID | None
) -> tuple[ApiKey, User, str]:
    """Return the key, its creator and the creator's role, or raise Unauthenticated.

    A key stops working when it is revoked or expired, or when its creator
    leaves the organisation.
    """
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(key)))
    now = dt.datetime.now(dt.UTC)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("invalid or revoked API key")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("API key expired; create a new one")
    if organization_id is not None and organization_id != row.organization_id:
        raise NotFound("organisation not found")
    membership = await session.get(Membership, (row.created_by, row.organization_id))
    user = await session.get(User, row.created_by)
    if membership is None or user is None:
        raise Unauthenticated("the creator of this API key is no longer a member")
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        await session.commit()
    return row, user, membership.role
