"""Covering indexes on the rollup rows of monitors as a whole.

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-04

The overview sums the "*" rows of every monitor of an organisation for
three windows, and reads the newest 30 minute rows of each for its
sparklines. Rollup rows are written per refresh run for all monitors at
once, so a monitor's consecutive minutes lie on different heap pages: with
only the primary key, 1,000 monitors took one page read per row (about
56,000 for one hour of minutes). These partial indexes contain every
column those reads need, so they are index-only scans once vacuum has
marked the pages all-visible. They cover only the "*" rows, a quarter of
the rows of a monitor in three regions.

rollup_minutes is partitioned, so its index is created on every partition,
and on partitions created later. PostgreSQL has no CREATE INDEX
CONCURRENTLY for partitioned tables, so creating these indexes blocks
writes to the rollup tables while it runs.
"""

from alembic import op

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLES = ("rollup_minutes", "rollup_hours", "rollup_days")
_COLUMNS = "(monitor_id, bucket) INCLUDE (check_count, up_count, observed_s, up_s, latency_sum_ms)"


def upgrade() -> None:
    for table in _TABLES:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_overall ON {table} {_COLUMNS} WHERE region = '*'"
        )


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP INDEX IF EXISTS {table}_overall")
