"""Reads of results: current state, uptime and raw results."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import uuid
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.agents import registry
from mometrics_control.alerting.maintenance import Interval, maintenance_intervals
from mometrics_control.errors import InvalidInput
from mometrics_control.models import Agent, Monitor
from mometrics_control.monitors.schemas import PUSH_REGION
from mometrics_control.results import uptime
from mometrics_control.results.schemas import (
    Latency,
    MonitorStatus,
    Phases,
    RegionState,
    RegionStatus,
    RegionUptime,
    ResultPage,
    ResultRead,
    UptimeRead,
)
from mometrics_control.rollups import queries as rollup_queries

_STATUS_NAMES = {1: "up", 2: "down", 3: "unknown"}
_STATUS_CODES = {"up": 1, "down": 2, "unknown": 3}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_stale(monitor: Monitor, last_scheduled_at: dt.datetime, now: dt.datetime) -> bool:
    """Return whether a region's last result is too old to stand for now."""
    allowed = dt.timedelta(seconds=2 * monitor.interval_seconds + 30)
    return now - last_scheduled_at > allowed


async def covered_regions_of(
    session: AsyncSession, redis: Redis, monitors: list[Monitor], liveness_s: float
) -> dict[uuid.UUID, set[str]]:
    """Return each monitor's regions with a live agent that may check it.

    An agent registered by an organisation checks only that organisation's
    monitors, so another organisation's live agent gives no coverage. Push
    monitors are fed by their own pings, so their region is always covered.
    """
    regions = sorted({r for m in monitors if m.kind != "push" for r in m.regions})
    live = {
        region: [uuid.UUID(agent_id) for agent_id in agents]
        for region, agents in (await registry.live_agents_of(redis, regions, liveness_s)).items()
    }
    agent_ids = {agent_id for agents in live.values() for agent_id in agents}
    owners: dict[uuid.UUID, uuid.UUID | None] = {}
    if agent_ids:
        rows = await session.execute(
            select(Agent.id, Agent.organization_id).where(
                Agent.id.in_(agent_ids), Agent.revoked_at.is_(None)
            )
        )
        owners = {agent_id: organization_id for agent_id, organization_id in rows}
    covered = {}
    for monitor in monitors:
        if monitor.kind == "push":
            covered[monitor.id] = {PUSH_REGION}
            continue
        covered[monitor.id] = {
            region
            for region in monitor.regions
            if any(
                agent_id in owners and owners[agent_id] in (None, monitor.organization_id)
                for agent_id in live.get(region, [])
            )
        }
    return covered


async def covered_regions(
    session: AsyncSession, redis: Redis, monitor: Monitor, liveness_s: float
) -> set[str]:
    return (await covered_regions_of(session, redis, [monitor], liveness_s))[monitor.id]


_STATES_SQL = text(
    "SELECT monitor_id, region, status, last_scheduled_at, last_latency_ms, last_error "
    "FROM region_states WHERE monitor_id = ANY(CAST(:ids AS uuid[]))"
)


async def region_states_of(
    session: AsyncSession, redis: Redis, monitors: list[Monitor], liveness_s: float
) -> dict[uuid.UUID, list[RegionState]]:
    """Return the current state of each monitor in each of its regions.

    Reads the stored states of all monitors in one query and the live agents
    of all regions in one Redis round trip.
    """
    if not monitors:
        return {}
    stored = await session.execute(_STATES_SQL, {"ids": [monitor.id for monitor in monitors]})
    # Rows of _STATES_SQL, whose status is a RegionStatus value.
    rows: dict[tuple[uuid.UUID, str], Any] = {(row.monitor_id, row.region): row for row in stored}
    covered = await covered_regions_of(session, redis, monitors, liveness_s)
    now = _now()
    states = {}
    for monitor in monitors:
        states[monitor.id] = [
            _region_state(monitor, region, rows.get((monitor.id, region)), covered, now)
            for region in monitor.regions
        ]
    return states


def _region_state(
    monitor: Monitor,
    region: str,
    row: Any,
    covered: dict[uuid.UUID, set[str]],
    now: dt.datetime,
) -> RegionState:
    status: RegionStatus
    if region not in covered[monitor.id]:
        status = "no_coverage"
    elif row is None or is_stale(monitor, row.last_scheduled_at, now):
        status = "no_data"
    else:
        status = row.status
    return RegionState.model_construct(
        region=region,
        status=status,
        last_latency_ms=row.last_latency_ms if row else None,
        last_checked_at=row.last_scheduled_at if row else None,
        last_error=row.last_error if row and row.status == "down" else None,
    )


async def region_states(
    session: AsyncSession,
    redis: Redis,
    monitor: Monitor,
    liveness_s: float,
) -> list[RegionState]:
    return (await region_states_of(session, redis, [monitor], liveness_s))[monitor.id]


def monitor_status(monitor: Monitor, states: list[RegionState]) -> MonitorStatus:
    if monitor.paused:
        return "paused"
    down = sum(1 for state in states if state.status == "down")
    known = sum(1 for state in states if state.status in ("up", "down"))
    if down >= uptime.effective_quorum(monitor.quorum, len(monitor.regions)):
        return "down"
    if known == 0:
        return "no_data"
    if down > 0 or known < len(states):
        return "degraded"
    return "up"


def parse_window(
    window: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> tuple[str, dt.datetime, dt.datetime]:
    """Return the window's name, start and end.

    A named window such as 24h ends at the start of the current minute;
    uptime_for moves the end to just after the newest result.
    """
    now = _now()
    if since is not None or until is not None:
        if since is None:
            raise InvalidInput.for_field("since", "required when until is given")
        until = until or now
        if since.tzinfo is None or until.tzinfo is None:
            raise InvalidInput.for_field("since", "times must carry a time zone offset")
        if since >= until:
            raise InvalidInput.for_field("since", "must be before until")
        if until - since > dt.timedelta(days=400):
            raise InvalidInput.for_field("since", "a custom range spans at most 400 days")
        return "custom", since, until
    window = window or "24h"
    if window not in uptime.WINDOWS:
        raise InvalidInput.for_field(
            "window", f"must be one of {', '.join(uptime.WINDOWS)}; got {window!r}"
        )
    end = now.replace(second=0, microsecond=0)
    return window, end - uptime.WINDOWS[window], end


# A named window ends this long after the newest result, so that result
# counts as a check with a short span until the next one arrives.
NEWEST_MARGIN = dt.timedelta(seconds=1)


def through_newest(
    window: str, until: dt.datetime, states: list[RegionState]
) -> tuple[dt.datetime, dt.datetime]:
    """Return the start and end of a named window that includes the newest result.

    The window ends at the start of the current minute (`until`) or just
    after the newest result of any region, whichever is later. It moves
    only when a result arrives or a minute passes, so a repeated read with
    no new result returns the same body and ETag, while a new result
    counts at once.
    """
    checked = [state.last_checked_at for state in states if state.last_checked_at is not None]
    if checked:
        until = max(until, min(_now(), max(checked) + NEWEST_MARGIN))
    return until - uptime.WINDOWS[window], until


# Windows longer than this read rollups; shorter ones (1h, 24h and short
# custom ranges) read raw rows and report exact percentiles.
RAW_WINDOW_MAX = dt.timedelta(hours=25)


@dataclasses.dataclass
class _Totals:
    checks: int
    observed_s: float
    up_s: float
    latency: dict[str, float] | None


async def _raw_totals(
    session: AsyncSession,
    monitor: Monitor,
    quorum: int,
    since: dt.datetime,
    until: dt.datetime,
    maintenance: list[Interval],
) -> tuple[dict[str, _Totals], _Totals]:
    spans = await uptime.load_spans(session, monitor.id, monitor.interval_seconds, since, until)
    spans = uptime.without_intervals(
        spans, [(low.timestamp(), high.timestamp()) for low, high in maintenance]
    )
    latency = await uptime.load_latency(session, monitor.id, since, until)
    regions = {}
    for region, (observed, up) in uptime.region_totals(spans).items():
        checks, region_latency = latency.get(region, (0, None))
        regions[region] = _Totals(checks, observed, up, region_latency)
    observed, up = uptime.overall_totals(spans, quorum)
    checks, overall_latency = latency.get(None, (0, None))
    return regions, _Totals(checks, observed, up, overall_latency)


async def _rollup_totals(
    session: AsyncSession,
    monitor: Monitor,
    quorum: int,
    since: dt.datetime,
    until: dt.datetime,
    maintenance: list[Interval],
) -> tuple[dt.datetime, dict[str, _Totals], _Totals]:
    window = await rollup_queries.load_window(
        session, monitor.id, monitor.interval_seconds, quorum, since, until, None, maintenance
    )
    regions = {
        region: _Totals(f.checks, f.observed_s, f.up_s, f.latency())
        for region, f in window.regions.items()
    }
    overall = window.overall
    return (
        window.since,
        regions,
        _Totals(overall.checks, overall.observed_s, overall.up_s, overall.latency()),
    )


def maintenance_seconds(intervals: list[Interval], since: dt.datetime, until: dt.datetime) -> float:
    """Return the seconds of [since, until) inside merged maintenance intervals."""
    return sum(
        max(0.0, (min(high, until) - max(low, since)).total_seconds()) for low, high in intervals
    )


async def uptime_for(
    session: AsyncSession,
    redis: Redis,
    monitor: Monitor,
    window: str,
    since: dt.datetime,
    until: dt.datetime,
    liveness_s: float,
    states: list[RegionState] | None = None,
) -> UptimeRead:
    """Compute time-weighted uptime and latency per region and overall.

    Pass `states` when the caller already loaded the region states. A named
    window (`window` other than "custom") ends just after the newest result
    when that is later than `until`; see through_newest.

    Time inside the monitor's maintenance windows counts neither as observed
    nor as down, and the coverage is observed time over the window minus
    that time. Checks and latency still include the results inside them.

    Windows up to RAW_WINDOW_MAX read raw rows: percentiles are exact and
    the overall figure follows the quorum second by second. Longer windows
    read rollups (see rollups.queries) and differ in three ways:

    - `since` is rounded up to the next minute (hour or day beyond the
      minute or hour rollups' retention), and the response reports it;
    - percentiles come from log-scale histograms, within about 4.5 %;
    - the overall uptime is approximated per minute bucket. Each result's
      span counts in the minute it was scheduled in, and within a minute
      the monitor is observed for the longest region span and down for the
      quorum-th longest region down time. That is exact when every region
      has at most one result per minute and all regions' results of a
      minute start at the same time. Agents place results on one schedule
      grid, so this holds for intervals of 60 s and more. Otherwise a
      minute's down time may be off by up to the down time of its most-down
      region. The newest stretch (rollups.planning.TAIL_S or one interval)
      and the edges of maintenance intervals are read raw and exact.
    """
    if states is None:
        states = await region_states(session, redis, monitor, liveness_s)
    if window in uptime.WINDOWS:
        since, until = through_newest(window, until, states)
    quorum = uptime.effective_quorum(monitor.quorum, len(monitor.regions))
    maintenance = await maintenance_intervals(session, monitor.id, since, until)
    if until - since > RAW_WINDOW_MAX:
        since, totals, overall = await _rollup_totals(
            session, monitor, quorum, since, until, maintenance
        )
    else:
        totals, overall = await _raw_totals(session, monitor, quorum, since, until, maintenance)
    window_s = (until - since).total_seconds()
    maintenance_s = maintenance_seconds(maintenance, since, until)
    observable_s = window_s - maintenance_s
    states_by_region = {state.region: state for state in states}
    regions = []
    for region in monitor.regions:
        figures = totals.get(region, _Totals(0, 0.0, 0.0, None))
        state = states_by_region[region]
        regions.append(
            RegionUptime(
                region=region,
                status=state.status,
                uptime=fraction(figures.up_s, figures.observed_s),
                coverage=_coverage(figures.observed_s, observable_s),
                checks=figures.checks,
                latency_ms=Latency(**figures.latency) if figures.latency else None,
                last_checked_at=state.last_checked_at,
            )
        )
    return UptimeRead(
        monitor_id=monitor.id,
        window=window,
        since=since,
        until=until,
        status=monitor_status(monitor, states),
        uptime=fraction(overall.up_s, overall.observed_s),
        coverage=_coverage(overall.observed_s, observable_s),
        maintenance_s=round(maintenance_s, 3),
        latency_ms=Latency(**overall.latency) if overall.latency else None,
        regions=regions,
    )


def _coverage(observed_s: float, observable_s: float) -> float:
    return min(1.0, observed_s / observable_s) if observable_s > 0 else 0.0


def fraction(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _encode_cursor(scheduled_at: dt.datetime, region: str) -> str:
    raw = f"{scheduled_at.isoformat()}|{region}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, region = raw.split("|", 1)
        return dt.datetime.fromisoformat(moment), region
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.for_field("cursor", "invalid cursor; use next_cursor as given") from None


async def list_results(
    session: AsyncSession,
    monitor_id: uuid.UUID,
    region: str | None,
    status: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> ResultPage:
    """Return results newest first, with a keyset cursor for the next page."""
    conditions = ["monitor_id = :monitor_id"]
    params: dict[str, object] = {"monitor_id": monitor_id, "limit": limit + 1}
    if region:
        conditions.append("region = :region")
        params["region"] = region
    if status:
        if status not in _STATUS_CODES:
            raise InvalidInput.for_field("status", "must be up, down or unknown")
        conditions.append("status = :status")
        params["status"] = _STATUS_CODES[status]
    if since:
        conditions.append("scheduled_at >= :since")
        params["since"] = since
    if until:
        conditions.append("scheduled_at < :until")
        params["until"] = until
    if cursor:
        params["cursor_at"], params["cursor_region"] = _decode_cursor(cursor)
        conditions.append("(scheduled_at, region) < (:cursor_at, :cursor_region)")
    query = text(
        "SELECT * FROM check_results WHERE "
        + " AND ".join(conditions)
        + " ORDER BY scheduled_at DESC, region DESC LIMIT :limit"
    )
    rows = list(await session.execute(query, params))
    items = [
        ResultRead(
            region=row.region,
            agent_id=row.agent_id,
            status=_STATUS_NAMES[row.status],  # type: ignore[arg-type]
            latency_ms=round(row.latency_ms, 3),
            scheduled_at=row.scheduled_at,
            started_at=row.started_at,
            status_code=row.status_code or None,
            error_class=row.error_class,
            error_message=row.error_message,
            phases=Phases(
                dns_ms=row.dns_ms,
                connect_ms=row.connect_ms,
                tls_ms=row.tls_ms,
                first_byte_ms=row.first_byte_ms,
                transfer_ms=row.transfer_ms,
            ),
            is_low_confidence=row.is_low_confidence,
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(last.scheduled_at, last.region)
    return ResultPage(items=items, next_cursor=next_cursor)
