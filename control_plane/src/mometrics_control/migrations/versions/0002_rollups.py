"""Rollups of results per minute, hour and day.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Three tables with one row per (monitor, region, bucket): `rollup_minutes`
(partitioned by day, kept for days), `rollup_hours` and `rollup_days`. The
region "*" holds the monitor as a whole. `rollup_dirty` lists buckets that
the rollup job must recompute; ingest marks minutes there in the same
transaction that stores the results.

Latency histograms are int arrays whose subscripts are bucket numbers:
bucket i counts latencies in [2^(i/8), 2^((i+1)/8)) milliseconds (bucket
-24 also takes everything below 0.14 ms, bucket 200 everything above 9
hours). An array can start at any subscript, for example '[40:42]={3,0,1}',
so it stores only the range between its lowest and highest used bucket.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)

_ROLLUP_COLUMNS = """
    monitor_id uuid NOT NULL,
    -- A region name, or '*' for the monitor as a whole.
    region text NOT NULL,
    -- Start of the bucket (UTC, aligned to its length).
    bucket timestamptz NOT NULL,
    check_count integer NOT NULL,
    up_count integer NOT NULL,
    -- Time-weighted seconds of the results scheduled in the bucket; a
    -- result's span may run past the bucket's end, by less than one interval.
    observed_s double precision NOT NULL,
    up_s double precision NOT NULL,
    -- Latency of successful checks only.
    latency_sum_ms double precision NOT NULL,
    latency_min_ms real,
    latency_max_ms real,
    latency_histogram integer[],
    PRIMARY KEY (monitor_id, region, bucket)
"""

_FUNCTIONS = [
    # The histogram bucket of a latency; the Python twin is
    # mometrics_control.rollups.histogram.bucket_of.
    """
    CREATE OR REPLACE FUNCTION mometrics_latency_bucket(latency_ms double precision)
    RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT greatest(-24, least(200,
            floor(ln(greatest(latency_ms, 1e-6)) * 8 / ln(2))::integer))
    $$
    """,
    # Widen a histogram with zeros so it covers subscripts low..high.
    """
    CREATE OR REPLACE FUNCTION mometrics_histogram_widen(counts integer[], low integer,
                                                         high integer)
    RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
        IF counts IS NULL OR cardinality(counts) = 0 THEN
            RETURN array_fill(0, ARRAY[high - low + 1], ARRAY[low]);
        END IF;
        IF low < array_lower(counts, 1) THEN
            -- Concatenation keeps the lower bound of the left operand.
            counts := array_fill(0, ARRAY[array_lower(counts, 1) - low], ARRAY[low])
                || counts;
        END IF;
        IF high > array_upper(counts, 1) THEN
            counts := counts || array_fill(0, ARRAY[high - array_upper(counts, 1)]);
        END IF;
        RETURN counts;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION mometrics_histogram_add(counts integer[], bucket integer)
    RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
        IF bucket IS NULL THEN
            RETURN counts;
        END IF;
        IF counts IS NULL THEN
            RETURN array_fill(1, ARRAY[1], ARRAY[bucket]);
        END IF;
        IF bucket < array_lower(counts, 1) OR bucket > array_upper(counts, 1) THEN
            counts := mometrics_histogram_widen(counts, bucket, bucket);
        END IF;
        counts[bucket] := counts[bucket] + 1;
        RETURN counts;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION mometrics_histogram_merge(a integer[], b integer[])
    RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
        IF b IS NULL OR cardinality(b) = 0 THEN
            RETURN a;
        END IF;
        IF a IS NULL OR cardinality(a) = 0 THEN
            RETURN b;
        END IF;
        a := mometrics_histogram_widen(a, array_lower(b, 1), array_upper(b, 1));
        FOR i IN array_lower(b, 1)..array_upper(b, 1) LOOP
            a[i] := a[i] + b[i];
        END LOOP;
        RETURN a;
    END $$
    """,
    # Counts latency buckets into a histogram.
    """
    CREATE AGGREGATE mometrics_histogram(integer) (
        SFUNC = mometrics_histogram_add, STYPE = integer[]
    )
    """,
    # Sums histograms element by element.
    """
    CREATE AGGREGATE mometrics_histogram_sum(integer[]) (
        SFUNC = mometrics_histogram_merge, STYPE = integer[],
        COMBINEFUNC = mometrics_histogram_merge, PARALLEL = SAFE
    )
    """,
    # Creates the daily partition of rollup_minutes holding `day`.
    """
    CREATE OR REPLACE FUNCTION mometrics_ensure_rollup_partition(day date)
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF rollup_minutes '
            'FOR VALUES FROM (%L) TO (%L)',
            'rollup_minutes_' || to_char(day, 'YYYYMMDD'),
            day::timestamp AT TIME ZONE 'UTC',
            (day + 1)::timestamp AT TIME ZONE 'UTC'
        );
    END $$
    """,
]


def upgrade() -> None:
    op.execute(f"CREATE TABLE rollup_minutes ({_ROLLUP_COLUMNS}) PARTITION BY RANGE (bucket)")
    for name in ("rollup_hours", "rollup_days"):
        # Deleting a monitor deletes its long-lived rollups; minute rows
        # have no foreign key and leave with their daily partition.
        op.execute(
            f"CREATE TABLE {name} ({_ROLLUP_COLUMNS}, "
            "FOREIGN KEY (monitor_id) REFERENCES monitors (id) ON DELETE CASCADE)"
        )
    op.create_table(
        "rollup_dirty",
        # Bucket length in seconds: 60, 3600 or 86400.
        sa.Column("resolution_s", sa.Integer, primary_key=True),
        sa.Column("monitor_id", UUID, primary_key=True),
        sa.Column("region", sa.Text, primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
    )
    for statement in _FUNCTIONS:
        op.execute(statement)
    op.execute(
        "SELECT mometrics_ensure_rollup_partition((now() AT TIME ZONE 'UTC')::date + d) "
        "FROM generate_series(-8, 2) AS d"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS rollup_minutes CASCADE")
    op.execute("DROP TABLE IF EXISTS rollup_hours")
    op.execute("DROP TABLE IF EXISTS rollup_days")
    op.drop_table("rollup_dirty")
    op.execute("DROP FUNCTION IF EXISTS mometrics_ensure_rollup_partition(date)")
    op.execute("DROP AGGREGATE IF EXISTS mometrics_histogram_sum(integer[])")
    op.execute("DROP AGGREGATE IF EXISTS mometrics_histogram(integer)")
    op.execute("DROP FUNCTION IF EXISTS mometrics_histogram_merge(integer[], integer[])")
    op.execute("DROP FUNCTION IF EXISTS mometrics_histogram_add(integer[], integer)")
    op.execute("DROP FUNCTION IF EXISTS mometrics_histogram_widen(integer[], integer, integer)")
    op.execute("DROP FUNCTION IF EXISTS mometrics_latency_bucket(double precision)")
