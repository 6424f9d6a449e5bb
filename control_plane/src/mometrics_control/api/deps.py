"""FastAPI dependencies: settings, database session and the caller's identity."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.apikeys import service as apikeys
from mometrics_control.auth.tokens import decode_access_token
from mometrics_control.config import Settings
from mometrics_control.errors import Forbidden, NotFound, Unauthenticated
from mometrics_control.models import Membership, User

_bearer = HTTPBearer(auto_error=False)

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]


async def _user_from_access_token(session: AsyncSession, settings: Settings, token: str) -> User:
    claims = decode_access_token(settings, token)
    try:
        user_id = uuid.UUID(claims["sub"])
    except ValueError:
        raise Unauthenticated("invalid access token") from None
    user = await session.get(User, user_id)
    if user is None:
        raise Unauthenticated("the account of this token no longer exists")
    if float(claims["iat"]) < user.password_changed_at.timestamp():
        raise Unauthenticated("token issued before the last password change; log in again")
    return user


async def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Return the user of a JWT access token; API keys are not accepted here."""
    if credentials is None:
        raise Unauthenticated("missing bearer token in the Authorization header")
    if credentials.credentials.startswith(apikeys.KEY_PREFIX):
        raise Forbidden("API keys cannot use this endpoint; log in as a user")
    return await _user_from_access_token(session, settings, credentials.credentials)


UserDep = Annotated[User, Depends(get_current_user)]


@dataclasses.dataclass(frozen=True)
class Caller:
    """The authenticated user acting in one organisation with one role.

    For an API key, `user` is the key's creator, `role` the creator's current
    role and `scopes` the key's scopes. A user's own token has every scope.
    """

    user: User
    organization_id: uuid.UUID
    role: str
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] | None = None

    def require(self, role: str) -> None:
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(f"this action needs the {role} role; yours is {self.role}")

    def require_scope(self, scope: str) -> None:
        if self.scopes is not None and scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope} scope")

    def require_user(self) -> None:
        if self.api_key_id is not None:
            raise Forbidden("API keys cannot do this; log in as a user")


def _parse_organization_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("organisation not found") from None


async def get_caller(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    organization_header: Annotated[str | None, Header(alias="X-Organization-Id")] = None,
) -> Caller:
    """Resolve the caller from a JWT or an API key, in the organisation of the header.

    Without X-Organization-Id a user acts in the organisation they joined
    first; an API key always acts in its own organisation.
    """
    if credentials is None:
        raise Unauthenticated("missing bearer token in the Authorization header")
    organization_id = _parse_organization_id(organization_header)
    token = credentials.credentials
    if token.startswith(apikeys.KEY_PREFIX):
        key, creator, role = await apikeys.authenticate(session, token, organization_id)
        return Caller(
            user=creator,
            organization_id=key.organization_id,
            role=role,
            api_key_id=key.id,
            scopes=frozenset(key.scopes),
        )
    user = await _user_from_access_token(session, settings, token)
    query = select(Membership).where(Membership.user_id == user.id)
    if organization_id is not None:
        query = query.where(Membership.organization_id == organization_id)
    membership = await session.scalar(query.order_by(Membership.created_at).limit(1))
    if membership is None:
        raise NotFound("organisation not found")
    return Caller(user=user, organization_id=membership.organization_id, role=membership.role)


CallerDep = Annotated[Caller, Depends(get_caller)]


def scope_guard(area: str) -> Callable[..., Awaitable[None]]:
    """Build a router dependency that requires `area:read` for reads, `area:write` otherwise."""

    async def check_scope(request: Request, caller: CallerDep) -> None:
        action = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
        caller.require_scope(f"{area}:{action}")

    return check_scope
