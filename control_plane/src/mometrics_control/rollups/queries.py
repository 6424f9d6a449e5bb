"""Uptime and latency of long windows, read from rollups plus raw rows.

rollups.planning decides which rollup segments and raw pieces make up a
window. `load_windows` reads many (monitor, window) pairs with one query for
all rollup rows and one for all raw rows, so the overview of a thousand
monitors costs the same few round trips as one monitor's page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import math
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.results import uptime
from mometrics_control.rollups import histogram
from mometrics_control.rollups.models import ALL_REGIONS
from mometrics_control.rollups.planning import (
    DAY_S,
    HOUR_RETENTION_DAYS,
    HOUR_S,
    MINUTE_RETENTION_DAYS,
    MINUTE_S,
    TAIL_S,
    Plan,
    RawPiece,
    Segment,
    plan_segments,
    plan_window,
)

# Kept importable from here for the rollup jobs and existing callers.
__all__ = [
    "HOUR_RETENTION_DAYS",
    "MINUTE_RETENTION_DAYS",
    "TAIL_S",
    "Figures",
    "WindowFigures",
    "WindowRequest",
    "load_window",
    "load_windows",
    "plan_segments",
    "plan_window",
]

_TABLES = {DAY_S: "rollup_days", HOUR_S: "rollup_hours", MINUTE_S: "rollup_minutes"}

Interval = tuple[dt.datetime, dt.datetime]


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
class WindowRequest:
    """One monitor's window; `quorum` is the effective quorum.

    `maintenance` contains merged, sorted intervals. Their part inside the
    window is excluded from the observed and up time.
    """

    monitor_id: uuid.UUID
    interval_s: int
    quorum: int
    since: dt.datetime
    until: dt.datetime
    maintenance: tuple[Interval, ...] = ()


@dataclasses.dataclass
class WindowFigures:
    since: dt.datetime
    regions: dict[str, Figures]
    overall: Figures
    # Seconds of [since, until) inside maintenance intervals.
    maintenance_s: float = 0.0


async def disable_jit(session: AsyncSession) -> None:
    """Turn off JIT compilation for the rest of the session's transaction.

    Reads that span 1,000 monitors have cost estimates above PostgreSQL's
    jit_above_cost. On PostgreSQL 15, compiling took 0.7 s of a 1.1 s
    overview query whose execution took 0.4 s.
    """
    await session.execute(text("SET LOCAL jit = off"))


def _time(moment: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, dt.UTC)


def _seconds(interval: Interval) -> tuple[float, float]:
    return interval[0].timestamp(), interval[1].timestamp()


def _split_shared(segments: set[Segment]) -> dict[Segment, list[Segment]]:
    """Cut each segment at every boundary of other segments of its resolution.

    Windows that end together share their newest segments, but a 24 h
    window's hours also cover the hours a 7 d window reads from its last
    day boundary on. Cut at those boundaries, the shared parts are read
    once for all windows.
    """
    boundaries: dict[int, set[int]] = {}
    for segment in segments:
        boundaries.setdefault(segment.resolution_s, set()).update((segment.start, segment.end))
    cuts = {step: sorted(points) for step, points in boundaries.items()}
    parts = {}
    for segment in segments:
        inner = [p for p in cuts[segment.resolution_s] if segment.start < p < segment.end]
        edges = [segment.start, *inner, segment.end]
        parts[segment] = [
            Segment(segment.resolution_s, low, high) for low, high in itertools.pairwise(edges)
        ]
    return parts


def _rollup_part_sql(index: int, segment: Segment, columns: str, region_filter: str) -> str:
    return (
        f"SELECT {index} AS part, {columns} FROM {_TABLES[segment.resolution_s]} "
        f"WHERE monitor_id = ANY(CAST(:ids_{index} AS uuid[])) {region_filter}"
        f"AND bucket >= :start_{index} AND bucket < :end_{index}"
    )


def _rollup_params(parts: list[tuple[Segment, set[uuid.UUID]]]) -> dict[str, object]:
    params: dict[str, object] = {}
    for index, (segment, monitor_ids) in enumerate(parts):
        params[f"ids_{index}"] = list(monitor_ids)
        params[f"start_{index}"] = _time(segment.start)
        params[f"end_{index}"] = _time(segment.end)
    return params


# Columns of the "*" rows that the overview sums; the partial indexes of
# migration 0005 cover them, so these reads are index-only scans.
_OVERALL_COLUMNS = "monitor_id, observed_s, up_s"
_ROW_COLUMNS = (
    "monitor_id, region, check_count, up_count, observed_s, up_s, latency_sum_ms, "
    "latency_min_ms, latency_max_ms, latency_histogram"
)


async def _read_overall_rollups(
    session: AsyncSession, parts: list[tuple[Segment, set[uuid.UUID]]]
) -> dict[tuple[int, uuid.UUID], tuple[float, float]]:
    """Return the observed and up seconds of the "*" rows per part and monitor.

    The sums come back as one row per monitor with an array per column:
    decoding thousands of rows in Python took longer than the query.
    """
    if not parts:
        return {}
    region_filter = f"AND region = '{ALL_REGIONS}' "
    union = " UNION ALL ".join(
        _rollup_part_sql(index, segment, _OVERALL_COLUMNS, region_filter)
        for index, (segment, _) in enumerate(parts)
    )
    query = (
        "SELECT monitor_id, array_agg(part) AS parts, array_agg(observed_s) AS observed, "
        "array_agg(up_s) AS up FROM ("
        "SELECT part, monitor_id, sum(observed_s) AS observed_s, sum(up_s) AS up_s "
        f"FROM ({union}) AS rows GROUP BY part, monitor_id"
        ") AS sums GROUP BY monitor_id"
    )
    await disable_jit(session)
    found = {}
    for row in await session.execute(text(query), _rollup_params(parts)):
        for part, observed, up in zip(row.parts, row.observed, row.up, strict=True):
            found[(part, row.monitor_id)] = (observed, up)
    return found


async def _read_rollup_rows(
    session: AsyncSession, parts: list[tuple[Segment, set[uuid.UUID]]]
) -> dict[tuple[int, uuid.UUID], dict[str, Figures]]:
    """Sum every rollup row, latency included, per part, monitor and region."""
    if not parts:
        return {}
    union = " UNION ALL ".join(
        _rollup_part_sql(index, segment, _ROW_COLUMNS, "")
        for index, (segment, _) in enumerate(parts)
    )
    query = f"SELECT *, array_lower(latency_histogram, 1) AS first_bucket FROM ({union}) AS rows"
    await disable_jit(session)
    found: dict[tuple[int, uuid.UUID], dict[str, Figures]] = {}
    for row in await session.execute(text(query), _rollup_params(parts)):
        figures = found.setdefault((row.part, row.monitor_id), {})
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
    return found


# Observed and up seconds of raw pieces, per region and for the monitor as a
# whole ("*"). The regions read are the monitor's own plus any region with a
# stored state, so results of a region removed since still count, as they
# do in the rollups. Spans follow results/uptime.py: until the region's next
# result, capped at one interval and at the window's end. The "*" figures
# sweep every span's start and end in time order: time is observed while any
# region has a span, and down while at least `quorum` regions are down.
_RAW_PIECES_SQL = text(
    """
    WITH pieces AS (
        SELECT *, end_at + make_interval(secs => interval_s) AS read_until
        FROM unnest(
            CAST(:piece AS integer[]), CAST(:monitor_id AS uuid[]),
            CAST(:interval_s AS integer[]), CAST(:quorum AS integer[]),
            CAST(:start_at AS timestamptz[]), CAST(:end_at AS timestamptz[]),
            CAST(:cap_at AS timestamptz[]), CAST(:clip_start AS double precision[]),
            CAST(:clip_end AS double precision[])
        ) AS p(piece, monitor_id, interval_s, quorum, start_at, end_at, cap_at,
               clip_start, clip_end)
    ), piece_regions AS (
        SELECT p.*, r.region
        FROM pieces p
        CROSS JOIN LATERAL (
            SELECT rs.region FROM region_states rs WHERE rs.monitor_id = p.monitor_id
            UNION
            SELECT unnest(m.regions) FROM monitors m WHERE m.id = p.monitor_id
        ) AS r
    ), rows AS (
        SELECT pr.piece, pr.region, pr.quorum, pr.clip_start, pr.clip_end, pr.end_at,
               cr.status, cr.scheduled_at,
               least(
                   coalesce(lead(cr.scheduled_at) OVER w, pr.cap_at),
                   cr.scheduled_at + make_interval(secs => pr.interval_s),
                   pr.cap_at
               ) AS span_end
        FROM piece_regions pr
        CROSS JOIN LATERAL (
            -- OFFSET 0 keeps this a range scan of the primary key per
            -- (monitor, region) instead of a join on the monitor alone.
            SELECT c.status, c.scheduled_at
            FROM check_results c
            WHERE c.monitor_id = pr.monitor_id AND c.region = pr.region
              AND c.scheduled_at >= pr.start_at AND c.scheduled_at < pr.read_until
            OFFSET 0
        ) AS cr
        WINDOW w AS (PARTITION BY pr.piece, pr.region ORDER BY cr.scheduled_at)
    ), spans AS (
        SELECT piece, region, quorum, clip_start, clip_end, status,
               extract(epoch FROM scheduled_at)::double precision AS start_s,
               extract(epoch FROM span_end)::double precision AS end_s
        FROM rows
        WHERE scheduled_at < end_at AND status IN (1, 2)
    ), events AS (
        SELECT piece, quorum, clip_start, clip_end, start_s AS t, 1 AS d_active,
               CASE WHEN status = 2 THEN 1 ELSE 0 END AS d_down
        FROM spans WHERE end_s > start_s
        UNION ALL
        SELECT piece, quorum, clip_start, clip_end, end_s, -1,
               CASE WHEN status = 2 THEN -1 ELSE 0 END
        FROM spans WHERE end_s > start_s
    ), steps AS (
        SELECT piece, quorum, clip_start, clip_end, t,
               sum(d_active) OVER w AS active, sum(d_down) OVER w AS down,
               lead(t) OVER w AS next_t
        FROM events
        WINDOW w AS (PARTITION BY piece ORDER BY t, d_active, d_down ROWS UNBOUNDED PRECEDING)
    )
    SELECT piece, region,
           coalesce(sum(greatest(0, least(end_s, clip_end) - greatest(start_s, clip_start))),
                    0) AS observed_s,
           coalesce(sum(greatest(0, least(end_s, clip_end) - greatest(start_s, clip_start)))
                        FILTER (WHERE status = 1), 0) AS up_s
    FROM spans WHERE CAST(:with_regions AS boolean) GROUP BY piece, region
    UNION ALL
    SELECT piece, '*',
           coalesce(sum(greatest(0, least(next_t, clip_end) - greatest(t, clip_start)))
                        FILTER (WHERE active > 0), 0),
           coalesce(sum(greatest(0, least(next_t, clip_end) - greatest(t, clip_start)))
                        FILTER (WHERE active > 0 AND down < quorum), 0)
    FROM steps WHERE next_t IS NOT NULL GROUP BY piece
    """
)

# (monitor id, piece, window end) identifies one raw read.
_PieceKey = tuple[uuid.UUID, RawPiece, dt.datetime]


async def _read_raw(
    session: AsyncSession, needs: dict[_PieceKey, WindowRequest], with_regions: bool
) -> dict[_PieceKey, dict[str, tuple[float, float]]]:
    """Return observed and up seconds per region and "*" of each raw piece.

    Without `with_regions` only the "*" figures are computed.
    """
    keys = list(needs)
    if not keys:
        return {}
    columns: dict[str, list[object]] = {
        name: []
        for name in (
            "piece",
            "monitor_id",
            "interval_s",
            "quorum",
            "start_at",
            "end_at",
            "cap_at",
            "clip_start",
            "clip_end",
        )
    }
    for index, key in enumerate(keys):
        monitor_id, piece, until = key
        request = needs[key]
        columns["piece"].append(index)
        columns["monitor_id"].append(monitor_id)
        columns["interval_s"].append(request.interval_s)
        columns["quorum"].append(request.quorum)
        columns["start_at"].append(_time(piece.start))
        columns["end_at"].append(_time(piece.end))
        columns["cap_at"].append(until)
        columns["clip_start"].append(piece.clip_start)
        columns["clip_end"].append(piece.clip_end)
    await disable_jit(session)
    # The sweep sorts two events per span. With the default 4 MB, the sort
    # of 21,000 spans (1,000 monitors in three regions) spilled to disk.
    await session.execute(text("SET LOCAL work_mem = '32MB'"))
    found: dict[_PieceKey, dict[str, tuple[float, float]]] = {key: {} for key in keys}
    params = {**columns, "with_regions": with_regions}
    for row in await session.execute(_RAW_PIECES_SQL, params):
        found[keys[row.piece]][row.region] = (float(row.observed_s), float(row.up_s))
    return found


async def _add_raw_latency(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    since: dt.datetime,
    until: dt.datetime,
    figures: dict[str, Figures],
) -> None:
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


def _add_signed(target: Figures, source: Figures, sign: int) -> None:
    """Add a rollup part: all of it for sign +1, only its time for -1."""
    target.observed_s += sign * source.observed_s
    target.up_s += sign * source.up_s
    if sign < 0:
        return
    target.checks += source.checks
    target.up_checks += source.up_checks
    target.latency_sum_ms += source.latency_sum_ms
    target.add_latency_range(source.latency_min_ms, source.latency_max_ms)
    histogram.merge_into(target.histogram, source.histogram)


def _clamp(total: Figures) -> None:
    # Subtracting maintenance may leave rounding dust below zero.
    total.observed_s = max(0.0, total.observed_s)
    total.up_s = min(max(0.0, total.up_s), total.observed_s)


class _Reads:
    """The plans of many requests and the deduplicated reads they need."""

    def __init__(self, requests: Sequence[WindowRequest], now_s: int) -> None:
        cache: dict[tuple[int, int, int, tuple[tuple[float, float], ...]], Plan] = {}
        self.plans: list[Plan] = []
        segment_needs: dict[Segment, set[uuid.UUID]] = {}
        self.raw_needs: dict[_PieceKey, WindowRequest] = {}

        for request in requests:
            key = (
                math.ceil(request.since.timestamp()),
                math.ceil(request.until.timestamp()),
                request.interval_s,
                tuple(_seconds(interval) for interval in request.maintenance),
            )
            if key not in cache:
                cache[key] = plan_window(key[0], key[1], key[2], now_s, key[3])
            plan = cache[key]
            self.plans.append(plan)
            for segment, _ in plan.rollups:
                segment_needs.setdefault(segment, set()).add(request.monitor_id)
            for piece in plan.raw:
                self.raw_needs.setdefault((request.monitor_id, piece, request.until), request)

        split = _split_shared(set(segment_needs))
        part_needs: dict[Segment, set[uuid.UUID]] = {}
        for segment, monitor_ids in segment_needs.items():
            for part in split[segment]:
                part_needs.setdefault(part, set()).update(monitor_ids)
        self.parts = list(part_needs.items())

        index = {part: number for number, (part, _) in enumerate(self.parts)}
        # The numbers of the parts each segment is cut into.
        self.segment_parts = {
            segment: [index[part] for part in parts] for segment, parts in split.items()
        }
        # Each distinct plan's (part number, sign) pairs and start, by id().
        self.plan_parts = {
            id(plan): [
                (part, sign)
                for segment, sign in plan.rollups
                for part in self.segment_parts[segment]
            ]
            for plan in cache.values()
        }
        self.plan_starts = {id(plan): _time(plan.start) for plan in cache.values()}


async def load_windows(
    session: AsyncSession,
    requests: Sequence[WindowRequest],
    now: dt.datetime | None = None,
    is_overall_only: bool = False,
    raw_session: AsyncSession | None = None,
) -> list[WindowFigures]:
    """Return figures per region and overall for each request, in order.

    With `is_overall_only` only the observed and up seconds of the monitor
    as a whole are read: the region figures stay empty and the overall
    figures carry no check counts or latency. That is all the overview
    needs.

    The overall figures of rolled-up stretches come from the "*" rows, which
    approximate the quorum per minute bucket (see rollups.compute); the raw
    pieces are exact. With `raw_session` (in overall-only mode), the raw
    rows are read on it while the rollup rows are read on `session`.
    """
    now = now or dt.datetime.now(dt.UTC)
    reads = _Reads(requests, math.floor(now.timestamp()))
    if is_overall_only:
        if raw_session is None:
            raw = await _read_raw(session, reads.raw_needs, with_regions=False)
            sums = await _read_overall_rollups(session, reads.parts)
        else:
            sums, raw = await asyncio.gather(
                _read_overall_rollups(session, reads.parts),
                _read_raw(raw_session, reads.raw_needs, with_regions=False),
            )
        return [
            _overall_figures(request, plan, reads, sums, raw)
            for request, plan in zip(requests, reads.plans, strict=True)
        ]
    raw = await _read_raw(session, reads.raw_needs, with_regions=True)
    rows = await _read_rollup_rows(session, reads.parts)
    results = []
    for request, plan in zip(requests, reads.plans, strict=True):
        figures: dict[str, Figures] = {}
        for segment, sign in plan.rollups:
            for part in reads.segment_parts[segment]:
                for region, found in rows.get((part, request.monitor_id), {}).items():
                    _add_signed(figures.setdefault(region, Figures()), found, sign)
        for piece in plan.raw:
            for region, (observed, up) in raw[(request.monitor_id, piece, request.until)].items():
                total = figures.setdefault(region, Figures())
                total.observed_s += piece.sign * observed
                total.up_s += piece.sign * up
            if piece.is_counted:
                since = max(_time(piece.start), request.since)
                await _add_raw_latency(session, request.monitor_id, since, request.until, figures)
        for total in figures.values():
            _clamp(total)
        overall = figures.pop(ALL_REGIONS, Figures())
        start = max(_time(plan.start), request.since)
        results.append(WindowFigures(start, figures, overall, plan.maintenance_s))
    return results


def _overall_figures(
    request: WindowRequest,
    plan: Plan,
    reads: _Reads,
    sums: dict[tuple[int, uuid.UUID], tuple[float, float]],
    raw: dict[_PieceKey, dict[str, tuple[float, float]]],
) -> WindowFigures:
    # Runs once per monitor and window, 3,000 times for the overview of
    # 1,000 monitors, so it sums plain floats over precomputed part lists.
    observed = up = 0.0
    monitor_id = request.monitor_id
    for part, sign in reads.plan_parts[id(plan)]:
        found = sums.get((part, monitor_id))
        if found is not None:
            observed += sign * found[0]
            up += sign * found[1]
    for piece in plan.raw:
        found = raw[(monitor_id, piece, request.until)].get(ALL_REGIONS)
        if found is not None:
            observed += piece.sign * found[0]
            up += piece.sign * found[1]
    overall = Figures(observed_s=observed, up_s=up)
    _clamp(overall)
    start = max(reads.plan_starts[id(plan)], request.since)
    return WindowFigures(start, {}, overall, plan.maintenance_s)


async def load_window(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    interval_s: int,
    quorum: int,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime | None = None,
    maintenance: Sequence[Interval] = (),
) -> WindowFigures:
    """Return figures per region and overall for [since, until) from rollups.

    `quorum` is the effective quorum (regions that must be down at once).
    """
    request = WindowRequest(monitor_id, interval_s, quorum, since, until, tuple(maintenance))
    (figures,) = await load_windows(session, [request], now)
    return figures
