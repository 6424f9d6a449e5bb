"""Alerting: state rules, notifications, maintenance.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "monitors",
        sa.Column("alert_settings", pg.JSONB, nullable=False, server_default="{}"),
    )
    op.add_column(
        "monitors",
        sa.Column("parent_id", UUID, sa.ForeignKey("monitors.id", ondelete="SET NULL")),
    )
    op.add_column(
        "region_states",
        sa.Column(
            "recent_statuses", pg.ARRAY(sa.SmallInteger), nullable=False, server_default="{}"
        ),
    )
    op.add_column(
        "region_states",
        sa.Column("consecutive_slow", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "incidents",
        sa.Column("parent_incident_id", UUID, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
    )
    # Why nobody was paged: parent, maintenance or flapping; NULL once paged.
    op.add_column("incidents", sa.Column("suppressed_reason", sa.String(16)))
    op.add_column("incidents", sa.Column("notified_at", TIMESTAMP))
    op.add_column("incidents", sa.Column("last_reminder_at", TIMESTAMP))
    op.add_column(
        "incidents", sa.Column("reminder_count", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("incidents", sa.Column("escalated_at", TIMESTAMP))
    op.create_index(
        "incidents_one_open_per_monitor",
        "incidents",
        ["monitor_id"],
        unique=True,
        postgresql_where=sa.text("closed_at IS NULL"),
    )

    op.create_table(
        "region_transitions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "monitor_id", UUID, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("previous", sa.String(16)),
        sa.Column("current", sa.String(16), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("region_transitions_monitor_at", "region_transitions", ["monitor_id", "at"])

    op.create_table(
        "monitor_alert_states",
        sa.Column(
            "monitor_id", UUID, sa.ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("is_flapping", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("flapping_since", TIMESTAMP),
        sa.Column("last_change_at", TIMESTAMP),
    )

    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "incident_id",
            UUID,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )

    op.create_table(
        "maintenance_windows",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "organization_id",
            UUID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        # Empty means every monitor of the organisation.
        sa.Column("monitor_ids", pg.ARRAY(UUID), nullable=False, server_default="{}"),
        sa.Column("timezone", sa.String(64), nullable=False),
        # Wall-clock start of the first occurrence in `timezone`.
        sa.Column("starts_at_local", sa.DateTime(timezone=False), nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        # none, daily, weekly or monthly.
        sa.Column("recurrence", sa.String(16), nullable=False),
        sa.Column("until_local", sa.DateTime(timezone=False)),
        sa.Column("created_at", TIMESTAMP, server_default=sa.func.now()),
    )

    op.create_table(
        "notification_outbox",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("delivery_key", sa.String(300), nullable=False, unique=True),
        sa.Column(
            "channel_id", UUID, sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("incident_id", UUID, sa.ForeignKey("incidents.id", ondelete="CASCADE")),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("claimed_until", TIMESTAMP),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivered_at", TIMESTAMP),
        sa.Column("dropped_at", TIMESTAMP),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "notification_outbox_pending",
        "notification_outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND dropped_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("notification_outbox")
    op.drop_table("maintenance_windows")
    op.drop_table("incident_events")
    op.drop_table("monitor_alert_states")
    op.drop_table("region_transitions")
    op.drop_index("incidents_one_open_per_monitor", table_name="incidents")
    for column in (
        "escalated_at",
        "reminder_count",
        "last_reminder_at",
        "notified_at",
        "suppressed_reason",
        "parent_incident_id",
    ):
        op.drop_column("incidents", column)
    op.drop_column("region_states", "consecutive_slow")
    op.drop_column("region_states", "recent_statuses")
    op.drop_column("monitors", "parent_id")
    op.drop_column("monitors", "alert_settings")
