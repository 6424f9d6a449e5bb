from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request, Response, status

from mometrics_control.api.deps import RedisDep, SessionDep, SettingsDep, UserDep
from mometrics_control.api.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    paginate,
    parse_sort,
    split_page,
)
from mometrics_control.invitations import queries, service
from mometrics_control.invitations.models import Invitation
from mometrics_control.invitations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationPage,
)
from mometrics_control.orgs import service as orgs
from mometrics_control.orgs.schemas import OrganizationRead

router = APIRouter(prefix="/organizations/{organization_id}/invitations", tags=["invitations"])
accept_router = APIRouter(prefix="/invitations", tags=["invitations"])

_SORTS = {
    "created_at": Invitation.created_at,
    "expires_at": Invitation.expires_at,
    "email": Invitation.email,
}


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_invitation(
    organization_id: uuid.UUID,
    body: InvitationCreate,
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> InvitationCreated:
    """Invite an email address to the organisation with a role.

    Admins invite admins, members and viewers; only owners invite owners. A
    pending invitation for the same address is revoked and replaced. With
    `delivery` "email" the control plane mails the accept link. With "link"
    the response's `accept_url` is the only copy of the link, and the admin
    passes it on.
    """
    actor = await orgs.membership_of(session, user.id, organization_id)
    base_url = settings.public_url or str(request.base_url)
    return await service.create(session, redis, settings, actor, body, base_url)


@router.get("")
async def list_invitations(
    organization_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    sort: str = "created_at",
) -> InvitationPage:
    """Pending invitations: not accepted, revoked or expired."""
    actor = await orgs.membership_of(session, user.id, organization_id)
    orgs.require_role(actor, "admin")
    sorting = parse_sort(sort, _SORTS)
    query = queries.pending(organization_id, dt.datetime.now(dt.UTC))
    rows = list(await session.scalars(paginate(query, sorting, Invitation.id, cursor, limit)))
    items, next_cursor = split_page(rows, sorting, limit)
    return InvitationPage(items=[service.to_read(row) for row in items], next_cursor=next_cursor)


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    organization_id: uuid.UUID, invitation_id: uuid.UUID, user: UserDep, session: SessionDep
) -> Response:
    """Revoke an invitation, so its link stops working."""
    actor = await orgs.membership_of(session, user.id, organization_id)
    await service.revoke(session, actor, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@accept_router.post("/accept")
async def accept_invitation(
    body: InvitationAccept, user: UserDep, session: SessionDep
) -> OrganizationRead:
    """Join the organisation of an invitation, with the invited role.

    The caller must be logged in with the invited email address. A new user
    registers with `invitation_token` in POST /auth/register instead.
    """
    return await service.accept(session, user, body.token)
