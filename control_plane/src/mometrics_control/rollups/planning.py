"""Plans of the rollup rows and raw rows that make up a window, minus maintenance.

A window is cut into segments read from the coarsest rollup that is both
complete and still kept there: whole days, then whole hours, then minutes,
and the newest stretch (at least one interval and TAIL_S) from raw rows.
The raw tail makes the sum equal to the raw computation of results/uptime.py:
every rolled-up result's next result is either inside the rollups or in the
tail, and no rolled-up span can reach past the window's end.

The start is rounded up to the next minute, or to the next hour or day where
finer rollups are no longer kept, and the figures describe the window from
that rounded start.

Maintenance intervals count neither as observed nor as up. The figures of
the whole window are computed first, then the part inside each interval is
subtracted. Rollup rows whose results all start inside the interval are
subtracted whole. The results around its edges are read raw, and each
counts only the share of its span inside the interval, or, for a result
subtracted whole, the share outside it.

All times are Unix seconds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400
# Minute rollups are kept longer than ingest accepts late results (7 days),
# so a late result can still rebuild its hour from minute rows.
MINUTE_RETENTION_DAYS = 8
HOUR_RETENTION_DAYS = 100
# Shortest raw tail of a window; also covers results that arrived since the
# rollup job last ran. The scheduler runs that job every 30 s, and one run
# over 30 s of results at 20,000 results/s takes about 30 s (49 s per
# million results in bench/README.md), so 5 minutes spans several runs.
TAIL_S = 300
# Hours and days count as rolled up once they ended this long before the
# tail. The raw tail already assumes that the rollup job is less than TAIL_S
# behind, and the job rebuilds a closed hour or day in the same run as its
# last minutes, so no further margin is needed.
SETTLE_S = 0


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch [start, end) read from rollups of `resolution_s`, or raw (0)."""

    resolution_s: int
    start: int
    end: int


@dataclasses.dataclass(frozen=True)
class RawPiece:
    """Results scheduled in [start, end), read raw.

    Each result's span adds `sign` times its overlap with [clip_start,
    clip_end) to the observed and up seconds. Only a piece with
    `is_counted` adds its results to the check counts and latency.
    """

    start: float
    end: float
    clip_start: float
    clip_end: float
    sign: int
    is_counted: bool


@dataclasses.dataclass(frozen=True)
class Plan:
    """The reads of one window: signed rollup segments and raw pieces."""

    start: int
    rollups: tuple[tuple[Segment, int], ...]
    raw: tuple[RawPiece, ...]
    maintenance_s: float


def _floor(moment: int, step: int) -> int:
    return moment // step * step


def _ceil(moment: int, step: int) -> int:
    return -(-moment // step) * step


# A rollup level: (bucket length, earliest bucket start still kept, end of
# the buckets that are complete). Coarsest first.
Level = tuple[int, int, int]


def _levels(tail: int, now: int) -> list[Level]:
    return [
        (DAY_S, -(2**62), _floor(tail - SETTLE_S, DAY_S)),
        (HOUR_S, now - (HOUR_RETENTION_DAYS - 1) * DAY_S, _floor(tail - SETTLE_S, HOUR_S)),
        (MINUTE_S, now - (MINUTE_RETENTION_DAYS - 1) * DAY_S, tail),
    ]


def _cover(cursor: int, end: int, levels: list[Level]) -> tuple[list[Segment], int]:
    """Cover [cursor, end) with rollup segments, coarsest first.

    Returns the segments and where the cover stopped: at `end`, or earlier
    where no kept and complete bucket starts at the cursor.
    """
    segments = []
    while cursor < end:
        for index, (step, usable_from, usable_until) in enumerate(levels):
            limit = min(usable_until, end)
            if cursor % step or cursor < usable_from or cursor + step > limit:
                continue
            stop = _floor(limit, step)
            # Stop where a coarser level could take over.
            for coarser, coarser_from, coarser_until in levels[:index]:
                boundary = _ceil(cursor + 1, coarser)
                if boundary >= coarser_from and boundary + coarser <= min(coarser_until, end):
                    stop = min(stop, boundary)
            segments.append(Segment(step, cursor, stop))
            cursor = stop
            break
        else:
            break
    return segments, cursor


def _rounded_start(since: int, now: int) -> int:
    if since >= now - (MINUTE_RETENTION_DAYS - 1) * DAY_S:
        return _ceil(since, MINUTE_S)
    if since >= now - (HOUR_RETENTION_DAYS - 1) * DAY_S:
        return _ceil(since, HOUR_S)
    return _ceil(since, DAY_S)


def plan_segments(since: int, until: int, interval_s: int, now: int) -> list[Segment]:
    """Cut [since, until) (Unix seconds) into rollup segments and a raw tail.

    `now` is floored to the minute, so every request within one minute gets
    the same plan.
    """
    now = _floor(now, MINUTE_S)
    start = _rounded_start(since, now)
    tail = max(start, _floor(until - max(interval_s, TAIL_S), MINUTE_S))
    segments, cursor = _cover(start, tail, _levels(tail, now))
    segments.append(Segment(0, cursor, until))
    return segments


def _maintenance_parts(
    low: float, high: float, start: int, tail: int, interval_s: int, levels: list[Level]
) -> tuple[list[tuple[Segment, int]], list[RawPiece]]:
    """Return what to subtract for the maintenance interval [low, high).

    Results that start in [first, inner_start) or [inner_end, high) are read
    raw and lose their overlap with the interval. Results in [inner_start,
    inner_end) all start inside it, so their rollup rows are subtracted
    whole. Those that start less than one interval before `high` may reach
    past it, so raw rows give that share back.
    """
    first = max(start, low - interval_s)
    finest = next(step for step, usable_from, _ in reversed(levels) if low >= usable_from)
    inner, inner_end = _cover(_ceil(math.ceil(low), finest), min(math.floor(high), tail), levels)
    if not inner:
        return [], [RawPiece(first, high, low, high, -1, False)]
    inner_start = inner[0].start
    pieces = [RawPiece(first, inner_start, low, high, -1, False)]
    if inner_end < high:
        pieces.append(RawPiece(inner_end, high, low, high, -1, False))
    overhang_start = max(inner_start, high - interval_s)
    if overhang_start < inner_end:
        pieces.append(RawPiece(overhang_start, inner_end, high, math.inf, 1, False))
    return [(segment, -1) for segment in inner], [p for p in pieces if p.start < p.end]


def plan_window(
    since: int,
    until: int,
    interval_s: int,
    now: int,
    maintenance: Sequence[tuple[float, float]] = (),
) -> Plan:
    """Plan the reads of [since, until), minus merged maintenance intervals."""
    segments = plan_segments(since, until, interval_s, now)
    start, tail = segments[0].start, segments[-1].start
    rollups = [(segment, 1) for segment in segments[:-1]]
    raw = [RawPiece(tail, until, -math.inf, math.inf, 1, True)]
    levels = _levels(tail, _floor(now, MINUTE_S))
    maintenance_s = 0.0
    for low, high in maintenance:
        low, high = max(low, start), min(high, until)
        if low >= high:
            continue
        maintenance_s += high - low
        inner, pieces = _maintenance_parts(low, high, start, tail, interval_s, levels)
        rollups += inner
        raw += pieces
    return Plan(start, tuple(rollups), tuple(raw), maintenance_s)
