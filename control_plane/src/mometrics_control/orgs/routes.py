from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from mometrics_control.api.deps import SessionDep, UserDep
from mometrics_control.models import Organization
from mometrics_control.orgs import service
from mometrics_control.orgs.schemas import (
    MemberCreate,
    MemberPage,
    MemberRead,
    MemberUpdate,
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
    OrganizationUpdate,
)

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("")
async def list_organizations(user: UserDep, session: SessionDep) -> OrganizationPage:
    """Organisations the caller belongs to, with the caller's role in each.

    A user belongs to a handful of organisations, so this list has one page.
    """
    return OrganizationPage(items=await service.list_for_user(session, user.id))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organization(
    body: OrganizationCreate, user: UserDep, session: SessionDep
) -> OrganizationRead:
    """Create an organisation owned by the caller."""
    return await service.create(session, user.id, body.name)


@router.get("/{organization_id}")
async def get_organization(
    organization_id: uuid.UUID, user: UserDep, session: SessionDep
) -> OrganizationRead:
    membership = await service.membership_of(session, user.id, organization_id)
    organization = await session.get(Organization, organization_id)
    assert organization is not None  # the membership's foreign key guarantees it
    return service.to_read(organization, membership.role)


@router.patch("/{organization_id}")
async def rename_organization(
    organization_id: uuid.UUID, body: OrganizationUpdate, user: UserDep, session: SessionDep
) -> OrganizationRead:
    membership = await service.membership_of(session, user.id, organization_id)
    service.require_role(membership, "admin")
    organization = await session.get(Organization, organization_id)
    assert organization is not None
    organization.name = body.name
    await session.commit()
    return service.to_read(organization, membership.role)


@router.delete("/{organization_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(
    organization_id: uuid.UUID, user: UserDep, session: SessionDep
) -> Response:
    """Delete the organisation with all its monitors, results links, channels and keys."""
    membership = await service.membership_of(session, user.id, organization_id)
    service.require_role(membership, "owner")
    await service.delete(session, organization_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{organization_id}/members")
async def list_members(
    organization_id: uuid.UUID, user: UserDep, session: SessionDep
) -> MemberPage:
    await service.membership_of(session, user.id, organization_id)
    return MemberPage(items=await service.list_members(session, organization_id))


@router.post("/{organization_id}/members", status_code=status.HTTP_201_CREATED)
async def add_member(
    organization_id: uuid.UUID, body: MemberCreate, user: UserDep, session: SessionDep
) -> MemberRead:
    """Add a registered user by email; admins add members, owners also add owners."""
    actor = await service.membership_of(session, user.id, organization_id)
    return await service.add_member(session, actor, body.email, body.role)


@router.patch("/{organization_id}/members/{user_id}")
async def change_member_role(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    user: UserDep,
    session: SessionDep,
) -> MemberRead:
    actor = await service.membership_of(session, user.id, organization_id)
    return await service.change_role(session, actor, user_id, body.role)


@router.delete("/{organization_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    organization_id: uuid.UUID, user_id: uuid.UUID, user: UserDep, session: SessionDep
) -> Response:
    actor = await service.membership_of(session, user.id, organization_id)
    await service.remove_member(session, actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
