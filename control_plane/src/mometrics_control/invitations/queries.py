"""Queries on invitations shared by the invitation and organisation services."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.invitations.models import Invitation


def pending(organization_id: uuid.UUID, now: dt.datetime) -> Select[Invitation]:
    """Select the invitations that are neither accepted, revoked nor expired."""
    return select(Invitation).where(
        Invitation.organization_id == organization_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )


async def revoke_open(
    session: AsyncSession, organization_id: uuid.UUID, email: str, now: dt.datetime
) -> list[uuid.UUID]:
    """Revoke every unaccepted invitation of `email` and return their ids, without committing."""
    revoked = await session.scalars(
        update(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(Invitation.id)
    )
    return list(revoked)
