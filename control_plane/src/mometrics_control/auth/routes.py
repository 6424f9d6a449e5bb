from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from mometrics_control.api.deps import RedisDep, SessionDep, SettingsDep, UserDep
from mometrics_control.auth import service
from mometrics_control.auth.ratelimit import check_login_rate
from mometrics_control.auth.schemas import (
    LoginRequest,
    MembershipRead,
    MeRead,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserRead,
)
from mometrics_control.models import Membership, Organization

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterRequest, session: SessionDep) -> UserRead:
    user = await service.register(
        session, body.email, body.password, body.organization_name, body.invitation_token
    )
    return UserRead(id=user.id, email=user.email)


@router.post("/login")
async def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> TokenPair:
    client = request.client.host if request.client else "unknown"
    await check_login_rate(redis, body.email.lower(), client)
    user = await service.authenticate(session, body.email, body.password)
    return await service.issue_tokens(session, settings, user.id)


@router.post("/refresh")
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    return await service.rotate_refresh_token(session, settings, body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password")
async def change_password(
    body: PasswordChange, user: UserDep, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """Change the password; every other session and refresh token stops working."""
    return await service.change_password(
        session, settings, user, body.current_password, body.new_password
    )


@router.get("/me")
async def me(user: UserDep, session: SessionDep) -> MeRead:
    rows = await session.execute(
        select(Organization.id, Organization.name, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at)
    )
    return MeRead(
        id=user.id,
        email=user.email,
        organizations=[MembershipRead(id=row.id, name=row.name, role=row.role) for row in rows],
    )
