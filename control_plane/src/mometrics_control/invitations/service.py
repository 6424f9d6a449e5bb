"""Creating, listing, revoking and accepting organisation invitations.

Admins invite members, admins and viewers; only owners invite owners. The
invitee accepts with the token from the link, logged in with the invited
address or registering with it, and becomes a member with the invited role.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.config import Settings
from mometrics_control.errors import Conflict, Forbidden, Gone, NotFound, RateLimited
from mometrics_control.invitations import mail, queries
from mometrics_control.invitations.models import Invitation
from mometrics_control.invitations.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
)
from mometrics_control.models import Membership, Organization, User
from mometrics_control.orgs import service as orgs
from mometrics_control.orgs.schemas import OrganizationRead

log = logging.getLogger("mometrics.invitations")

# Invitations one organisation may create per window, so that the instance's
# mail server cannot be used to send mass mail.
RATE_WINDOW_S = 3600
MAX_PER_WINDOW = 100


def to_read(invitation: Invitation) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        organization_id=invitation.organization_id,
        email=invitation.email,
        role=invitation.role,  # type: ignore[arg-type]
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        delivery=invitation.delivery,  # type: ignore[arg-type]
        email_sent_at=invitation.email_sent_at,
        email_error=invitation.email_error,
    )


async def _check_rate(redis: Redis, organization_id: uuid.UUID) -> None:
    key = f"mometrics:invitations:organization:{organization_id}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, RATE_WINDOW_S, nx=True)
        count, _ = await pipe.execute()
    if count > MAX_PER_WINDOW:
        raise RateLimited(
            f"this organisation created more than {MAX_PER_WINDOW} invitations in the last "
            f"{RATE_WINDOW_S // 60} minutes; try again later",
            retry_after_s=RATE_WINDOW_S,
        )


async def create(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    actor: Membership,
    body: InvitationCreate,
    base_url: str,
) -> InvitationCreated:
    """Create an invitation, replacing a pending one for the same address.

    With SMTP and a public URL configured the worker emails the link, and
    the response carries no token. Otherwise, or when the email job cannot
    be queued, the response carries the accept link for the admin to pass on.
    """
    orgs.require_role(actor, "admin")
    if body.role == "owner":
        orgs.require_role(actor, "owner")
    organization_id = actor.organization_id
    email = body.email.lower()
    member_id = await session.scalar(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, User.email == email)
    )
    if member_id is not None:
        raise Conflict(f"{email} is already a member of this organisation")
    await _check_rate(redis, organization_id)

    now = dt.datetime.now(dt.UTC)
    replaced = await queries.revoke_open(session, organization_id, email, now)
    token = new_secret()
    invitation = Invitation(
        id=uuid.uuid4(),
        organization_id=organization_id,
        email=email,
        role=body.role,
        token_hash=hash_secret(token),
        invited_by=actor.user_id,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.invitation_ttl_s),
        delivery="email" if mail.is_email_configured(settings) else "link",
        email_attempts=0,
    )
    session.add(invitation)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            f"another invitation for {email} was created at the same time; list the "
            "pending invitations and try again if needed"
        ) from None
    ids = {"invitation_id": str(invitation.id), "organization_id": str(organization_id)}
    for old_id in replaced:
        log.info("invitation replaced", extra={**ids, "replaced_id": str(old_id)})

    if invitation.delivery == "email" and not await mail.enqueue(settings, invitation.id, token):
        invitation.delivery = "link"
        await session.commit()
    log.info(
        "invitation created",
        extra={**ids, "user_id": str(actor.user_id), "delivery": invitation.delivery},
    )
    link = mail.accept_url(base_url, token) if invitation.delivery == "link" else None
    return InvitationCreated(**to_read(invitation).model_dump(), accept_url=link)


async def revoke(session: AsyncSession, actor: Membership, invitation_id: uuid.UUID) -> None:
    """Revoke an invitation. Revoking one twice, or an expired one, also succeeds."""
    orgs.require_role(actor, "admin")
    invitation = await session.scalar(
        select(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.organization_id == actor.organization_id,
        )
        .with_for_update()
    )
    if invitation is None:
        raise NotFound(f"invitation {invitation_id} not found")
    if invitation.role == "owner":
        orgs.require_role(actor, "owner")
    if invitation.accepted_at is not None:
        raise Conflict(
            "this invitation was already accepted; remove the member instead "
            f"(DELETE /organizations/{actor.organization_id}/members/{invitation.accepted_by})"
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = dt.datetime.now(dt.UTC)
        await session.commit()
        log.info(
            "invitation revoked",
            extra={
                "invitation_id": str(invitation_id),
                "organization_id": str(actor.organization_id),
                "user_id": str(actor.user_id),
            },
        )


async def _lock_by_token(session: AsyncSession, token: str) -> Invitation:
    invitation = await session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_secret(token)).with_for_update()
    )
    if invitation is None:
        raise NotFound("invitation not found: the token is invalid; check the link")
    return invitation


def _check_acceptable(invitation: Invitation, email: str, now: dt.datetime) -> None:
    if invitation.accepted_at is not None:
        raise Gone("this invitation was already used; ask the organisation for a new one")
    if invitation.revoked_at is not None:
        raise Gone(
            "this invitation was revoked or replaced by a newer one; use the newest "
            "link or ask the organisation for a new one"
        )
    if invitation.expires_at <= now:
        expired = invitation.expires_at.astimezone(dt.UTC).isoformat(timespec="seconds")
        raise Gone(f"this invitation expired at {expired}; ask the organisation for a new one")
    if invitation.email != email.lower():
        raise Forbidden(
            f"this invitation is for {invitation.email}, but you are {email.lower()}; "
            "log in with the invited address, or ask for an invitation to yours"
        )


async def find_for_acceptance(
    session: AsyncSession, token: str, email: str, now: dt.datetime
) -> Invitation:
    """Return the invitation of `token`, locked, if `email` may accept it now.

    Raises NotFound for an unknown token, Gone when it was revoked, has
    expired or was used, and Forbidden when it is for another address.
    """
    invitation = await _lock_by_token(session, token)
    _check_acceptable(invitation, email, now)
    return invitation


def redeem(invitation: Invitation, user_id: uuid.UUID, now: dt.datetime) -> Membership:
    """Mark the invitation accepted and return the new membership. Does not commit."""
    invitation.accepted_at = now
    invitation.accepted_by = user_id
    return Membership(
        user_id=user_id, organization_id=invitation.organization_id, role=invitation.role
    )


async def accept(session: AsyncSession, user: User, token: str) -> OrganizationRead:
    """Join the invitation's organisation with its role.

    Accepting again with the same token returns the membership it created,
    as long as the user is still a member.
    """
    now = dt.datetime.now(dt.UTC)
    # The row lock orders concurrent accepts, so a repeated request reads the first one's result.
    invitation = await _lock_by_token(session, token)
    existing = await session.get(Membership, (user.id, invitation.organization_id))
    if invitation.accepted_by == user.id and existing is not None:
        return await _organization_read(session, existing)
    _check_acceptable(invitation, user.email, now)
    if existing is not None:
        raise Conflict(f"you are already a member of this organisation, as {existing.role}")
    membership = redeem(invitation, user.id, now)
    session.add(membership)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("you are already a member of this organisation") from None
    await session.refresh(membership)
    log.info(
        "invitation accepted",
        extra={
            "invitation_id": str(invitation.id),
            "organization_id": str(invitation.organization_id),
            "user_id": str(user.id),
        },
    )
    return await _organization_read(session, membership)


async def _organization_read(session: AsyncSession, membership: Membership) -> OrganizationRead:
    organization = await session.get(Organization, membership.organization_id)
    assert organization is not None  # the membership's foreign key guarantees it
    return orgs.to_read(organization, membership.role)
