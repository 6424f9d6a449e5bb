"""Time-weighted uptime, per region and overall by quorum.

Each result stands for the time until the region's next result, capped at
one interval; the last one until the end of the window, also capped. Time
with no result is a gap: it lowers coverage and never counts as up. The
monitor as a whole is down while at least `quorum` of its regions are down.
Time inside a maintenance interval is cut out of every span, so it counts
neither as observed nor as down.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

STATUS_UP = 1
STATUS_DOWN = 2
STATUS_UNKNOWN = 3

WINDOWS = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
}


@dataclasses.dataclass
class Span:
    """One result's share of time: [start, end) in Unix seconds."""

    region: str
    start: float
    end: float
    status: int


@dataclasses.dataclass
class RegionFigures:
    region: str
    checks: int
    observed_s: float
    up_s: float
    latency: dict[str, float] | None


def effective_quorum(quorum: int, region_count: int) -> int:
    """Regions that must be down for the monitor to be down (0 = majority)."""
    if quorum > 0:
        return min(quorum, region_count)
    return region_count // 2 + 1


_SPANS_SQL = text(
    """
    SELECT region, status,
           extract(epoch FROM scheduled_at) AS start_s,
           extract(epoch FROM least(
               coalesce(lead(scheduled_at) OVER w, :until),
               scheduled_at + make_interval(secs => :interval_s),
               :until
           )) AS end_s
    FROM check_results
    WHERE monitor_id = :monitor_id AND scheduled_at >= :since AND scheduled_at < :until
    WINDOW w AS (PARTITION BY region ORDER BY scheduled_at)
    ORDER BY scheduled_at
    """
)

_LATENCY_SQL = text(
    """
    SELECT region, count(*) AS checks,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)
               FILTER (WHERE status = 1) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
               FILTER (WHERE status = 1) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)
               FILTER (WHERE status = 1) AS p99,
           avg(latency_ms) FILTER (WHERE status = 1) AS avg
    FROM check_results
    WHERE monitor_id = :monitor_id AND scheduled_at >= :since AND scheduled_at < :until
    GROUP BY ROLLUP (region)
    """
)


async def load_spans(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    interval_s: int,
    since: dt.datetime,
    until: dt.datetime,
) -> list[Span]:
    rows = await session.execute(
        _SPANS_SQL,
        {"monitor_id": monitor_id, "interval_s": interval_s, "since": since, "until": until},
    )
    return [Span(row.region, float(row.start_s), float(row.end_s), row.status) for row in rows]


async def load_latency(
    session: AsyncSession, monitor_id: uuid.UUID, since: dt.datetime, until: dt.datetime
) -> dict[str | None, tuple[int, dict[str, float] | None]]:
    """Return check counts and latency percentiles per region, None for all."""
    rows = await session.execute(
        _LATENCY_SQL, {"monitor_id": monitor_id, "since": since, "until": until}
    )
    figures: dict[str | None, tuple[int, dict[str, float] | None]] = {}
    for row in rows:
        latency = None
        if row.p50 is not None:
            latency = {
                "p50": round(row.p50, 3),
                "p95": round(row.p95, 3),
                "p99": round(row.p99, 3),
                "avg": round(float(row.avg), 3),
            }
        figures[row.region] = (row.checks, latency)
    return figures


def without_intervals(spans: list[Span], intervals: Sequence[tuple[float, float]]) -> list[Span]:
    """Cut the parts inside `intervals` out of the spans.

    `intervals` are merged and sorted [start, end) pairs in Unix seconds. A
    span that an interval splits becomes two spans.
    """
    if not intervals:
        return spans
    ends = [end for _, end in intervals]
    kept = []
    for span in spans:
        start = span.start
        index = bisect.bisect_right(ends, start)
        while index < len(intervals) and intervals[index][0] < span.end:
            low, high = intervals[index]
            if low > start:
                kept.append(Span(span.region, start, low, span.status))
            start = max(start, high)
            index += 1
        if start < span.end:
            kept.append(Span(span.region, start, span.end, span.status))
    return kept


def region_totals(spans: list[Span]) -> dict[str, tuple[float, float]]:
    """Return observed and up seconds per region.

    Unknown results (the agent could not judge) count as neither.
    """
    totals: dict[str, tuple[float, float]] = {}
    for span in spans:
        observed, up = totals.get(span.region, (0.0, 0.0))
        length = span.end - span.start
        if span.status == STATUS_UNKNOWN:
            continue
        totals[span.region] = (
            observed + length,
            up + (length if span.status == STATUS_UP else 0.0),
        )
    return totals


def overall_totals(spans: list[Span], quorum: int) -> tuple[float, float]:
    """Return observed and up seconds of the monitor as a whole.

    Time is observed when at least one region has data; it is down while at
    least `quorum` regions are down at once.
    """
    events: list[tuple[float, int, int]] = []
    for span in spans:
        if span.status == STATUS_UNKNOWN or span.end <= span.start:
            continue
        is_down = 1 if span.status == STATUS_DOWN else 0
        events.append((span.start, 1, is_down))
        events.append((span.end, -1, -is_down))
    events.sort()
    observed = down = 0.0
    active = active_down = 0
    previous = None
    for moment, delta_active, delta_down in events:
        if previous is not None and active > 0:
            observed += moment - previous
            if active_down >= quorum:
                down += moment - previous
        active += delta_active
        active_down += delta_down
        previous = moment
    return observed, observed - down
