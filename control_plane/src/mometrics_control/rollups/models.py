"""Rollup tables: results summed per monitor, region and minute, hour or day.

The DDL lives in migration 0002 (`rollup_minutes` is partitioned by day);
these mappings are for reads and tests. A row's `region` is a region name,
or ALL_REGIONS for the monitor as a whole.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import REAL, DateTime, Double, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from mometrics_control.models import Base

# Region value of the rows that describe the monitor as a whole. Region
# names never contain "*", so it cannot clash with a real region.
ALL_REGIONS = "*"


class _RollupColumns:
    monitor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    region: Mapped[str] = mapped_column(Text, primary_key=True)
    # Start of the bucket, aligned to its length in UTC.
    bucket: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    check_count: Mapped[int] = mapped_column(Integer)
    up_count: Mapped[int] = mapped_column(Integer)
    # Time-weighted seconds of the results scheduled in this bucket.
    observed_s: Mapped[float] = mapped_column(Double)
    up_s: Mapped[float] = mapped_column(Double)
    # Latency of successful checks only.
    latency_sum_ms: Mapped[float] = mapped_column(Double)
    latency_min_ms: Mapped[float | None] = mapped_column(REAL)
    latency_max_ms: Mapped[float | None] = mapped_column(REAL)
    # Counts per bucket number; see rollups.histogram. The array's lower
    # bound is the first bucket number, which this mapping does not keep.
    latency_histogram: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class RollupMinute(_RollupColumns, Base):
    __tablename__ = "rollup_minutes"


class RollupHour(_RollupColumns, Base):
    __tablename__ = "rollup_hours"


class RollupDay(_RollupColumns, Base):
    __tablename__ = "rollup_days"


class RollupDirty(Base):
    """A bucket whose rollup must be recomputed."""

    __tablename__ = "rollup_dirty"

    # Bucket length in seconds: 60, 3600 or 86400.
    resolution_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    region: Mapped[str] = mapped_column(Text, primary_key=True)
    bucket: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
