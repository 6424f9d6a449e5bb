"""Alerting delivery: the attempt that holds an outbox row's lease.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Set when a worker claims the row, together with claimed_until (the
    # lease), and committed before the send; a failure is recorded only by
    # the attempt that still holds the lease.
    op.add_column(
        "notification_outbox",
        sa.Column("attempt_id", pg.UUID(as_uuid=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("notification_outbox", "attempt_id")
