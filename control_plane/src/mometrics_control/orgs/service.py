"""Organisations and their members, with the rules on who may change roles.

Only an owner may grant, change or remove the owner role, and an
organisation always keeps at least one owner.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.api.deps import ROLE_RANK
from mometrics_control.errors import Conflict, Forbidden, NotFound
from mometrics_control.invitations import queries as invitation_queries
from mometrics_control.models import Membership, Organization, User
from mometrics_control.orgs.schemas import MemberRead, OrganizationRead

log = logging.getLogger("mometrics.orgs")


async def membership_of(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID
) -> Membership:
    """Return the user's membership, or NotFound so other tenants learn nothing."""
    membership = await session.get(Membership, (user_id, organization_id))
    if membership is None:
        raise NotFound(f"organisation {organization_id} not found")
    return membership


def require_role(membership: Membership, role: str) -> None:
    if ROLE_RANK[membership.role] < ROLE_RANK[role]:
        raise Forbidden(f"this action needs the {role} role; yours is {membership.role}")


async def list_for_user(session: AsyncSession, user_id: uuid.UUID) -> list[OrganizationRead]:
    rows = await session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Organization.id)
    )
    return [to_read(org, role) for org, role in rows]


def to_read(organization: Organization, role: str) -> OrganizationRead:
    return OrganizationRead(
        id=organization.id,
        name=organization.name,
        role=role,  # type: ignore[arg-type]
        created_at=organization.created_at,
    )


async def create(session: AsyncSession, user_id: uuid.UUID, name: str) -> OrganizationRead:
    organization = Organization(id=uuid.uuid4(), name=name)
    session.add(organization)
    await session.flush()
    session.add(Membership(user_id=user_id, organization_id=organization.id, role="owner"))
    await session.commit()
    await session.refresh(organization)
    log.info(
        "organisation created",
        extra={"organization_id": str(organization.id), "user_id": str(user_id)},
    )
    return to_read(organization, "owner")


async def delete(session: AsyncSession, organization_id: uuid.UUID) -> None:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"organisation {organization_id} not found")
    # Monitors, channels, incidents, memberships and keys go with it (ON DELETE CASCADE).
    await session.delete(organization)
    await session.commit()
    log.info("organisation deleted", extra={"organization_id": str(organization_id)})


async def list_members(session: AsyncSession, organization_id: uuid.UUID) -> list[MemberRead]:
    rows = await session.execute(
        select(User.id, User.email, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.created_at, User.id)
    )
    return [
        MemberRead(user_id=row.id, email=row.email, role=row.role, joined_at=row.created_at)
        for row in rows
    ]


async def _owner_count(session: AsyncSession, organization_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Membership.organization_id == organization_id, Membership.role == "owner"
        )
    )
    return int(count or 0)


async def add_member(session: AsyncSession, actor: Membership, email: str, role: str) -> MemberRead:
    require_role(actor, "admin")
    if role == "owner":
        require_role(actor, "owner")
    user = await session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        raise NotFound(f"no account with the email {email}; ask them to register first")
    if await session.get(Membership, (user.id, actor.organization_id)) is not None:
        raise Conflict(f"{email} is already a member")
    membership = Membership(user_id=user.id, organization_id=actor.organization_id, role=role)
    session.add(membership)
    # Accepting a pending invitation of this address would now fail, so revoke it.
    revoked = await invitation_queries.revoke_open(
        session, actor.organization_id, user.email, dt.datetime.now(dt.UTC)
    )
    await session.commit()
    for invitation_id in revoked:
        log.info(
            "invitation revoked",
            extra={"invitation_id": str(invitation_id), "user_id": str(actor.user_id)},
        )
    await session.refresh(membership)
    log.info(
        "member added",
        extra={"organization_id": str(actor.organization_id), "user_id": str(user.id)},
    )
    return MemberRead(user_id=user.id, email=user.email, role=role, joined_at=membership.created_at)  # type: ignore[arg-type]


async def change_role(
    session: AsyncSession, actor: Membership, user_id: uuid.UUID, role: str
) -> MemberRead:
    require_role(actor, "admin")
    target = await _member(session, actor.organization_id, user_id)
    if "owner" in (role, target.role):
        require_role(actor, "owner")
    if target.role == "owner" and role != "owner":
        await _keep_an_owner(session, actor.organization_id)
    target.role = role
    await session.commit()
    user = await session.get(User, user_id)
    assert user is not None  # the membership's foreign key guarantees it
    log.info(
        "member role changed",
        extra={"organization_id": str(actor.organization_id), "user_id": str(user_id)},
    )
    return MemberRead(user_id=user_id, email=user.email, role=role, joined_at=target.created_at)  # type: ignore[arg-type]


async def remove_member(session: AsyncSession, actor: Membership, user_id: uuid.UUID) -> None:
    """Remove a member; anyone may leave, admins remove others, owners remove owners."""
    target = await _member(session, actor.organization_id, user_id)
    if user_id != actor.user_id:
        require_role(actor, "admin")
        if target.role == "owner":
            require_role(actor, "owner")
    if target.role == "owner":
        await _keep_an_owner(session, actor.organization_id)
    await session.delete(target)
    await session.commit()
    log.info(
        "member removed",
        extra={"organization_id": str(actor.organization_id), "user_id": str(user_id)},
    )


async def _member(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    membership = await session.get(Membership, (user_id, organization_id))
    if membership is None:
        raise NotFound(f"member {user_id} not found")
    return membership


async def _keep_an_owner(session: AsyncSession, organization_id: uuid.UUID) -> None:
    if await _owner_count(session, organization_id) <= 1:
        raise Conflict("an organisation needs at least one owner; make someone else owner first")
