"""FastAPI dependencies: settings, database session and the caller's identity."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthenticated("missing bearer token in the Authorization header")
    claims = decode_access_token(settings, credentials.credentials)
    try:
        user_id = uuid.UUID(claims["sub"])
    except ValueError:
        raise Unauthenticated("invalid access token") from None
    user = await session.get(User, user_id)
    if user is None:
        raise Unauthenticated("the account of this token no longer exists")
    if claims["iat"] < int(user.password_changed_at.timestamp()):
        raise Unauthenticated("token issued before the last password change")
    return user


UserDep = Annotated[User, Depends(get_current_user)]


@dataclasses.dataclass(frozen=True)
class Caller:
    """The authenticated user acting in one organisation with one role."""

    user: User
    organization_id: uuid.UUID
    role: str

    def require(self, role: str) -> None:
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(f"this action needs the {role} role; yours is {self.role}")


async def get_caller(
    session: SessionDep,
    user: UserDep,
    organization_header: Annotated[str | None, Header(alias="X-Organization-Id")] = None,
) -> Caller:
    query = select(Membership).where(Membership.user_id == user.id)
    if organization_header:
        try:
            organization_id = uuid.UUID(organization_header)
        except ValueError:
            raise NotFound("organisation not found") from None
        query = query.where(Membership.organization_id == organization_id)
    membership = await session.scalar(query.order_by(Membership.created_at).limit(1))
    if membership is None:
        raise NotFound("organisation not found")
    return Caller(user=user, organization_id=membership.organization_id, role=membership.role)


CallerDep = Annotated[Caller, Depends(get_caller)]
