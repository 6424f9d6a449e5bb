"""Initial schema: tenants, users, monitors, agents, channels, results.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "users",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        *_timestamps(),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "organization_id",
            UUID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("family_id", UUID, nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        *_timestamps(),
    )
    op.create_table(
        "monitors",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "organization_id",
            UUID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("timeout_seconds", sa.Float, nullable=False),
        sa.Column("regions", pg.ARRAY(sa.String(64)), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("tags", pg.ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("options", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("quorum", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        *_timestamps(),
    )
    op.create_table(
        "agents",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.String(64)),
        *_timestamps(),
    )
    op.create_table(
        "channels",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "organization_id",
            UUID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", pg.JSONB, nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "monitor_channels",
        sa.Column(
            "monitor_id",
            UUID,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "channel_id",
            UUID,
            sa.ForeignKey("channels.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "region_states",
        sa.Column(
            "monitor_id",
            UUID,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("region", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("consecutive_successes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_latency_ms", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "organization_id",
            UUID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "monitor_id",
            UUID,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("cause", sa.Text, nullable=False, server_default=""),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", UUID, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    _create_check_results()


def _create_check_results() -> None:
    bind = op.get_bind()
    has_timescale = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar()
    columns = """
        scheduled_at timestamptz NOT NULL,
        monitor_id uuid NOT NULL,
        region text NOT NULL,
        agent_id uuid,
        started_at timestamptz NOT NULL,
        -- 1 up, 2 down, 3 unknown (the agent could not judge).
        status smallint NOT NULL,
        latency_ms real NOT NULL,
        dns_ms real,
        connect_ms real,
        tls_ms real,
        first_byte_ms real,
        transfer_ms real,
        status_code smallint,
        error_class text,
        error_message text,
        cert_expires_at timestamptz,
        loop_lag_ms real,
        is_low_confidence boolean NOT NULL DEFAULT false,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (monitor_id, region, scheduled_at)
    """
    if has_timescale:
        # NOTE: this branch runs only where the extension is installed; the
        # machines that run this project's tests have plain PostgreSQL.
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        op.execute(f"CREATE TABLE check_results ({columns})")
        op.execute(
            "SELECT create_hypertable('check_results', 'scheduled_at', "
            "chunk_time_interval => interval '1 day')"
        )
        op.execute(
            "ALTER TABLE check_results SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'monitor_id, region')"
        )
        op.execute("SELECT add_compression_policy('check_results', interval '7 days')")
        op.execute("SELECT add_retention_policy('check_results', interval '90 days')")
    else:
        op.execute(f"CREATE TABLE check_results ({columns}) PARTITION BY RANGE (scheduled_at)")
    # Creates the daily partition holding `day` unless it exists (a no-op on
    # a hypertable, whose chunks TimescaleDB creates by itself).
    op.execute(
        """
        CREATE OR REPLACE FUNCTION mometrics_ensure_partition(day date)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            name text := 'check_results_' || to_char(day, 'YYYYMMDD');
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM pg_partitioned_table p
                JOIN pg_class c ON c.oid = p.partrelid
                WHERE c.relname = 'check_results'
            ) THEN
                RETURN;
            END IF;
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF check_results '
                'FOR VALUES FROM (%L) TO (%L)',
                name, day::timestamp AT TIME ZONE 'UTC',
                (day + 1)::timestamp AT TIME ZONE 'UTC'
            );
        END $$;
        """
    )
    op.execute(
        "SELECT mometrics_ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
        "FROM generate_series(-2, 7) AS d"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS check_results CASCADE")
    op.execute("DROP FUNCTION IF EXISTS mometrics_ensure_partition(date)")
    for table in (
        "incidents",
        "region_states",
        "monitor_channels",
        "channels",
        "agents",
        "monitors",
        "refresh_tokens",
        "memberships",
        "users",
        "organizations",
    ):
        op.drop_table(table)
