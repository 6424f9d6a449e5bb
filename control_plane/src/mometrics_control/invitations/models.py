"""Invitations to join an organisation by email."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from mometrics_control.models import Base


class Invitation(Base):
    """An invitation for one email address, accepted once with a secret token.

    Only the SHA-256 of the token is stored. The token itself is sent in the
    invitation email or, without email, returned once to the admin who
    created the invitation. An invitation is pending while it is neither
    accepted, revoked nor expired. A new invitation for the same address
    revokes the pending one, so each address has at most one.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        Index(
            "uq_invitations_open_email",
            "organization_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Lower-cased, as users.email, so that the comparison ignores case.
    email: Mapped[str] = mapped_column(String(320))
    # The role the invitee gets: owner, admin, member or viewer.
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # How the token reaches the invitee: "email", or "link" when the admin
    # passes the accept link on.
    delivery: Mapped[str] = mapped_column(String(8))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The last send failure, cleared when a send succeeds.
    email_error: Mapped[str | None] = mapped_column(Text)
