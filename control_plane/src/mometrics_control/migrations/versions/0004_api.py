"""API: keys, organisation-owned agents, push monitors, status pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)


def _organization_fk(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "organization_id",
        UUID,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
        index=not primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", UUID, primary_key=True),
        _organization_fk(),
        sa.Column(
            "created_by", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", pg.ARRAY(sa.String(32)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    # Existing agents were registered by the operator and stay shared (NULL).
    op.add_column(
        "agents",
        sa.Column("organization_id", UUID, sa.ForeignKey("organizations.id", ondelete="CASCADE")),
    )
    op.create_index("ix_agents_organization_id", "agents", ["organization_id"])
    op.create_table(
        "push_monitors",
        sa.Column(
            "monitor_id",
            UUID,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("last_ping_at", sa.DateTime(timezone=True)),
        sa.Column("last_result_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "status_pages",
        _organization_fk(primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_table(
        "published_monitors",
        sa.Column(
            "monitor_id",
            UUID,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _organization_fk(),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    # The monitor list filters by tag with the array containment operator.
    op.create_index("ix_monitors_tags", "monitors", ["tags"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_monitors_tags", table_name="monitors")
    op.drop_table("published_monitors")
    op.drop_table("status_pages")
    op.drop_table("push_monitors")
    op.drop_index("ix_agents_organization_id", table_name="agents")
    op.drop_column("agents", "organization_id")
    op.drop_table("api_keys")
