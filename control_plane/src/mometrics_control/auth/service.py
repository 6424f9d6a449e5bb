"""Accounts, logins and refresh-token rotation."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.auth import tokens
from mometrics_control.auth.schemas import TokenPair
from mometrics_control.config import Settings
from mometrics_control.errors import Conflict, InvalidInput, Unauthenticated
from mometrics_control.invitations import service as invitations
from mometrics_control.models import Membership, Organization, RefreshToken, User

log = logging.getLogger("mometrics.auth")

# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = tokens.hash_password("not-a-real-password")


async def register(
    session: AsyncSession,
    email: str,
    password: str,
    organization_name: str | None,
    invitation_token: str | None = None,
) -> User:
    """Create a user and an organisation owned by that user.

    With an invitation token the user joins the invitation's organisation
    instead, and also gets an organisation of its own only if one is named.
    """
    email = email.lower()
    now = dt.datetime.now(dt.UTC)
    invitation = None
    if invitation_token is not None:
        invitation = await invitations.find_for_acceptance(session, invitation_token, email, now)
    user = User(
        id=uuid.uuid4(),
        email=email,
        password_hash=tokens.hash_password(password),
        # Set from this process's clock, the same clock that stamps token iat.
        password_changed_at=now,
    )
    session.add(user)
    organization = None
    if invitation is None or organization_name:
        organization = Organization(
            id=uuid.uuid4(), name=organization_name or f"{email.split('@')[0]}'s organisation"
        )
        session.add(organization)
    try:
        await session.flush()
        if organization is not None:
            session.add(Membership(user_id=user.id, organization_id=organization.id, role="owner"))
        if invitation is not None:
            session.add(invitations.redeem(invitation, user.id, now))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        hint = "; log in and accept the invitation instead" if invitation is not None else ""
        raise Conflict("an account with this email already exists" + hint) from None
    log.info("user registered", extra={"user_id": str(user.id)})
    if invitation is not None:
        log.info(
            "invitation accepted",
            extra={
                "invitation_id": str(invitation.id),
                "organization_id": str(invitation.organization_id),
                "user_id": str(user.id),
            },
        )
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        tokens.verify_password(_DUMMY_HASH, password)
        raise Unauthenticated("wrong email or password")
    if not tokens.verify_password(user.password_hash, password):
        raise Unauthenticated("wrong email or password")
    return user


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    secret = tokens.new_secret()
    session.add(
        RefreshToken(
            id=uuid.uuid4(),
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=tokens.hash_secret(secret),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    await session.commit()
    return TokenPair(
        access_token=tokens.issue_access_token(settings, user_id),
        refresh_token=secret,
        expires_in=settings.access_token_ttl_s,
    )


async def rotate_refresh_token(
    session: AsyncSession, settings: Settings, refresh_token: str
) -> TokenPair:
    """Exchange a refresh token for a new pair, revoking the old token.

    A token that was already rotated or revoked revokes its whole family.
    """
    now = dt.datetime.now(dt.UTC)
    stored = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == tokens.hash_secret(refresh_token))
        .with_for_update()
    )
    if stored is None or stored.expires_at <= now:
        raise Unauthenticated("invalid or expired refresh token; log in again")
    if stored.revoked_at is not None:
        await revoke_family(session, stored.family_id)
        log.warning(
            "revoked refresh token reused; family revoked",
            extra={"user_id": str(stored.user_id), "family_id": str(stored.family_id)},
        )
        raise Unauthenticated("refresh token was already used; log in again")
    stored.revoked_at = now
    return await issue_tokens(session, settings, stored.user_id, stored.family_id)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    await session.commit()


async def logout(session: AsyncSession, refresh_token: str) -> None:
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_secret(refresh_token))
    )
    if stored is not None:
        await revoke_family(session, stored.family_id)


async def change_password(
    session: AsyncSession,
    settings: Settings,
    user: User,
    current_password: str,
    new_password: str,
) -> TokenPair:
    """Set a new password, revoke every refresh token and earlier access token.

    Returns a fresh token pair, so the session that changed the password
    stays logged in while every other session must log in again.
    """
    if not tokens.verify_password(user.password_hash, current_password):
        raise InvalidInput.for_field("current_password", "wrong password")
    if current_password == new_password:
        raise InvalidInput.for_field("new_password", "must differ from the current password")
    now = dt.datetime.now(dt.UTC)
    user.password_hash = tokens.hash_password(new_password)
    user.password_changed_at = now
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.commit()
    log.info("password changed", extra={"user_id": str(user.id)})
    return await issue_tokens(session, settings, user.id)
