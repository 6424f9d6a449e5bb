"""Uptime and latency of a long window, read from rollups plus a raw tail.

A window is cut into segments read from the coarsest rollup that is both
complete and still kept there: whole days, then whole hours, then minutes,
and the newest stretch (at least one interval and TAIL_S) from raw rows.
The raw tail makes the sum equal to the raw computation of results/uptime.py:
every rolled-up result's next result is either inside the rollups or in the
tail, and no rolled-up span can reach past the window's end.

The start is rounded up to the next minute, or to the next hour or day where
finer rollups are no longer kept, and the figures describe the window from
that rounded start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.results import uptime
from mometrics_control.rollups import histogram
from mometrics_control.rollups.models import ALL_REGIONS

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400
# Minute rollups are kept longer than ingest accepts late results (7 days),
# so a late result can still rebuild its hour from minute rows.
MINUTE_RETENTION_DAYS = 8
HOUR_RETENTION_DAYS = 100
# Shortest raw tail of a window; also covers results that arrived since the
# rollup job last ran.
TAIL_S = 600
# Hours and days count as rolled up once they ended this long before the tail.
SETTLE_S = HOUR_S

_TABLES = {DAY_S: "rollup_days", HOUR_S: "rollup_hours", MINUTE_S: "rollup_minutes"}


@dataclasses.dataclass
class Figures:
    """Counts, time-weighted seconds and latency of one region or of all."""

    checks: int = 0
    up_checks: int = 0
    observed_s: float = 0.0
    up_s: float = 0.0
    latency_sum_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    histogram: histogram.Histogram = dataclasses.field(default_factory=dict)

    def add_latency_range(self, low_ms: float | None, high_ms: float | None) -> None:
        if low_ms is not None and (self.latency_min_ms is None or low_ms < self.latency_min_ms):
            self.latency_min_ms = low_ms
        if high_ms is not None and (self.latency_max_ms is None or high_ms > self.latency_max_ms):
            self.latency_max_ms = high_ms

    def latency(self) -> dict[str, float] | None:
        """Return p50, p95, p99 (estimated from the histogram) and the exact mean."""
        if self.up_checks == 0 or not self.histogram:
            return None
        low, high = self.latency_min_ms, self.latency_max_ms
        figures = {
            name: histogram.percentile(self.histogram, fraction, low, high)
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        }
        return {
            **{name: round(value or 0.0, 3) for name, value in figures.items()},
            "avg": round(self.latency_sum_ms / self.up_checks, 3),
        }


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch [start, end) read from rollups of `resolution_s`, or raw (0)."""

    resolution_s: int
    start: int
    end: int


@dataclasses.dataclass
class WindowFigures:
    since: dt.datetime
    regions: dict[str, Figures]
    overall: Figures


def _floor(moment: int, step: int) -> int:
    return moment // step * step


def _ceil(moment: int, step: int) -> int:
    return -(-moment // step) * step


def plan_segments(since: int, until: int, interval_s: int, now: int) -> list[Segment]:
    """Cut [since, until) (Unix seconds) into rollup segments and a raw tail."""
    if since >= now - (MINUTE_RETENTION_DAYS - 1) * DAY_S:
        start = _ceil(since, MINUTE_S)
    elif since >= now - (HOUR_RETENTION_DAYS - 1) * DAY_S:
        start = _ceil(since, HOUR_S)
    else:
        start = _ceil(since, DAY_S)
    tail = max(start, _floor(until - max(interval_s, TAIL_S), MINUTE_S))
    levels = [
        (DAY_S, _floor(tail - SETTLE_S, DAY_S)),
        (HOUR_S, _floor(tail - SETTLE_S, HOUR_S)),
        (MINUTE_S, tail),
    ]
    segments = []
    cursor = start
    while cursor < tail:
        for index, (step, usable_until) in enumerate(levels):
            if cursor % step or cursor + step > usable_until:
                continue
            end = _floor(usable_until, step)
            # Stop where a coarser level could take over.
            for coarser, coarser_until in levels[:index]:
                boundary = _ceil(cursor + 1, coarser)
                if boundary + coarser <= coarser_until:
                    end = min(end, boundary)
            segments.append(Segment(step, cursor, end))
            cursor = end
            break
    segments.append(Segment(0, cursor, until))
    return segments


def _time(moment: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, dt.UTC)


async def _add_rollups(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    segments: list[Segment],
    figures: dict[str, Figures],
) -> None:
    parts = []
    params: dict[str, object] = {"monitor_id": monitor_id}
    for index, segment in enumerate(segments):
        if segment.resolution_s == 0:
            continue
        parts.append(
            "SELECT region, check_count, up_count, observed_s, up_s, latency_sum_ms, "
            "latency_min_ms, latency_max_ms, latency_histogram, "
            "array_lower(latency_histogram, 1) AS first_bucket "
            f"FROM {_TABLES[segment.resolution_s]} "
            f"WHERE monitor_id = :monitor_id AND bucket >= :start_{index} "
            f"AND bucket < :end_{index}"
        )
        params[f"start_{index}"] = _time(segment.start)
        params[f"end_{index}"] = _time(segment.end)
    if not parts:
        return
    for row in await session.execute(text(" UNION ALL ".join(parts)), params):
        total = figures.setdefault(row.region, Figures())
        total.checks += row.check_count
        total.up_checks += row.up_count
        total.observed_s += row.observed_s
        total.up_s += row.up_s
        total.latency_sum_ms += row.latency_sum_ms
        total.add_latency_range(row.latency_min_ms, row.latency_max_ms)
        histogram.merge_into(
            total.histogram, histogram.from_array(row.latency_histogram, row.first_bucket)
        )


async def _add_raw_tail(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    interval_s: int,
    quorum: int,
    since: dt.datetime,
    until: dt.datetime,
    figures: dict[str, Figures],
) -> None:
    spans = await uptime.load_spans(session, monitor_id, interval_s, since, until)
    observed_up = uptime.region_totals(spans)
    observed_up[ALL_REGIONS] = uptime.overall_totals(spans, quorum)
    for region, (observed, up) in observed_up.items():
        total = figures.setdefault(region, Figures())
        total.observed_s += observed
        total.up_s += up
    rows = await session.execute(
        text(
            "SELECT region, status, latency_ms FROM check_results "
            "WHERE monitor_id = :monitor_id AND scheduled_at >= :since "
            "AND scheduled_at < :until"
        ),
        {"monitor_id": monitor_id, "since": since, "until": until},
    )
    for row in rows:
        for key in (row.region, ALL_REGIONS):
            total = figures.setdefault(key, Figures())
            total.checks += 1
            if row.status != uptime.STATUS_UP:
                continue
            total.up_checks += 1
            total.latency_sum_ms += row.latency_ms
            total.add_latency_range(row.latency_ms, row.latency_ms)
            histogram.merge_into(total.histogram, {histogram.bucket_of(row.latency_ms): 1})


async def load_window(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    interval_s: int,
    quorum: int,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime | None = None,
) -> WindowFigures:
    """Return figures per region and overall for [since, until) from rollups.

    `quorum` is the effective quorum (regions that must be down at once).
    The overall figures of rolled-up stretches come from the "*" rows, which
    approximate the quorum per minute bucket (see rollups.compute); the raw
    tail is exact.
    """
    now = now or dt.datetime.now(dt.UTC)
    segments = plan_segments(
        math.ceil(since.timestamp()),
        math.ceil(until.timestamp()),
        interval_s,
        math.floor(now.timestamp()),
    )
    figures: dict[str, Figures] = {}
    await _add_rollups(session, monitor_id, segments, figures)
    tail = segments[-1]
    tail_since = max(_time(tail.start), since)
    await _add_raw_tail(session, monitor_id, interval_s, quorum, tail_since, until, figures)
    overall = figures.pop(ALL_REGIONS, Figures())
    start = max(_time(segments[0].start), since)
    return WindowFigures(since=start, regions=figures, overall=overall)
