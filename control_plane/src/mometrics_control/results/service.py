"""Reads of results: current state, uptime, raw results and the overview."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import uuid

from redis.asyncio import Redis
from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.agents import registry
from mometrics_control.errors import InvalidInput
from mometrics_control.models import Agent, Monitor
from mometrics_control.models import RegionState as RegionStateRow
from mometrics_control.monitors.schemas import PUSH_REGION
from mometrics_control.results import uptime
from mometrics_control.results.schemas import (
    Latency,
    MonitorStatus,
    Phases,
    RegionState,
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


async def covered_regions(
    session: AsyncSession, redis: Redis, monitor: Monitor, liveness_s: float
) -> set[str]:
    """Return the monitor's regions with a live agent that may check it.

    An agent registered by an organisation checks only that organisation's
    monitors, so another organisation's live agent gives no coverage. Push
    monitors are fed by their own pings, so their region is always covered.
    """
    if monitor.kind == "push":
        return {PUSH_REGION}
    live = {
        region: await registry.live_agents(redis, region, liveness_s) for region in monitor.regions
    }
    agent_ids = [uuid.UUID(agent_id) for agents in live.values() for agent_id in agents]
    if not agent_ids:
        return set()
    eligible = set(
        await session.scalars(
            select(Agent.id).where(
                Agent.id.in_(agent_ids),
                Agent.revoked_at.is_(None),
                or_(
                    Agent.organization_id.is_(None),
                    Agent.organization_id == monitor.organization_id,
                ),
            )
        )
    )
    return {
        region
        for region, agents in live.items()
        if any(uuid.UUID(agent_id) in eligible for agent_id in agents)
    }


async def region_states(
    session: AsyncSession,
    redis: Redis,
    monitor: Monitor,
    liveness_s: float,
) -> list[RegionState]:
    rows = {
        row.region: row
        for row in await session.scalars(
            select(RegionStateRow).where(RegionStateRow.monitor_id == monitor.id)
        )
    }
    covered = await covered_regions(session, redis, monitor, liveness_s)
    now = _now()
    states = []
    for region in monitor.regions:
        row = rows.get(region)
        if region not in covered:
            status = "no_coverage"
        elif row is None or is_stale(monitor, row.last_scheduled_at, now):
            status = "no_data"
        else:
            status = row.status
        states.append(
            RegionState(
                region=region,
                status=status,  # type: ignore[arg-type]
                last_latency_ms=row.last_latency_ms if row else None,
                last_checked_at=row.last_scheduled_at if row else None,
                last_error=row.last_error if row and row.status == "down" else None,
            )
        )
    return states


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
    return window, now - uptime.WINDOWS[window], now


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
) -> tuple[dict[str, _Totals], _Totals]:
    spans = await uptime.load_spans(session, monitor.id, monitor.interval_seconds, since, until)
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
) -> tuple[dt.datetime, dict[str, _Totals], _Totals]:
    window = await rollup_queries.load_window(
        session, monitor.id, monitor.interval_seconds, quorum, since, until
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

    Pass `states` when the caller already loaded the region states (the
    overview reads them once for three windows).

    Windows up to RAW_WINDOW_MAX read raw rows: percentiles are exact and
    the overall figure follows the quorum second by second. Longer windows
    read rollups (see rollups.queries) and differ in three ways:

    - `since` is rounded up to the next minute (hour or day beyond the
      minute or hour rollups' retention), and the response reports it;
    - percentiles come from log-scale histograms, within about 4.5 %;
    - the overall uptime is approximated per minute bucket. Each result's
      span counts in the minute it was scheduled in, and within a minute
      the monitor is observed for the longest region span and down for the
      quorum-th longest region down time. That is exact while all regions'
      results fall on one schedule grid, as agents place them, and only
      approximate otherwise (after an interval change, say). The newest
      stretch (rollups.queries.TAIL_S or one interval) is read raw and exact.
    """
    quorum = uptime.effective_quorum(monitor.quorum, len(monitor.regions))
    if until - since > RAW_WINDOW_MAX:
        since, totals, overall = await _rollup_totals(session, monitor, quorum, since, until)
    else:
        totals, overall = await _raw_totals(session, monitor, quorum, since, until)
    window_s = (until - since).total_seconds()
    if states is None:
        states = await region_states(session, redis, monitor, liveness_s)
    states_by_region = {state.region: state for state in states}
    regions = []
    for region in monitor.regions:
        figures = totals.get(region, _Totals(0, 0.0, 0.0, None))
        state = states_by_region[region]
        regions.append(
            RegionUptime(
                region=region,
                status=state.status,
                uptime=_fraction(figures.up_s, figures.observed_s),
                coverage=min(1.0, figures.observed_s / window_s),
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
        uptime=_fraction(overall.up_s, overall.observed_s),
        coverage=min(1.0, overall.observed_s / window_s),
        latency_ms=Latency(**overall.latency) if overall.latency else None,
        regions=regions,
    )


def _fraction(part: float, whole: float) -> float | None:
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


async def sparkline(
    session: AsyncSession, monitor_id: uuid.UUID, points: int = 30
) -> list[float | None]:
    """Return the latest latencies (mean over regions per run), oldest first."""
    rows = await session.execute(
        text(
            """
            SELECT avg(latency_ms) FILTER (WHERE status = 1) AS latency
            FROM check_results
            WHERE monitor_id = :monitor_id AND scheduled_at > now() - interval '1 day'
            GROUP BY scheduled_at ORDER BY scheduled_at DESC LIMIT :points
            """
        ),
        {"monitor_id": monitor_id, "points": points},
    )
    values = [None if row.latency is None else round(float(row.latency), 2) for row in rows]
    return list(reversed(values))
