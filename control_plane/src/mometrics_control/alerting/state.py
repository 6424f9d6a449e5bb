"""Per-region verdicts of monitors, updated from newly stored results.

Runs inside the ingest transaction, so a region's state always matches the
results committed with it. Only rows that were new (not resent duplicates)
are passed in, so replays never count a failure twice.

Canaries: a monitor with `is_canary` in its alert settings watches a target
that should always be reachable. While its latest result in a region is a
failure, the failures of the same organisation's other monitors in that
region are stored as unknown (status 3) and never turn the region down. The
canary verdict is per region: with several agents in a region, the canary
runs on one of them, so it vouches for the region's network, not for each
agent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import asyncpg

from mometrics_control.alerting.rules import (
    STATUS_DOWN,
    STATUS_UNKNOWN,
    RegionCounters,
    apply_result,
)
from mometrics_control.alerting.settings import AlertSettings, load_settings

# A canary failure older than this many canary intervals no longer counts.
CANARY_VALID_INTERVALS = 2

Key = tuple[uuid.UUID, str]


@dataclasses.dataclass(frozen=True)
class Transition:
    """A region of a monitor that changed state with this batch."""

    monitor_id: uuid.UUID
    region: str
    previous: str | None
    current: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True)
class _MonitorInfo:
    organization_id: uuid.UUID
    interval_s: int
    rules: AlertSettings


async def update_region_states(
    connection: asyncpg.Connection, rows: list[asyncpg.Record]
) -> list[Transition]:
    groups: dict[Key, list[asyncpg.Record]] = {}
    for row in rows:
        groups.setdefault((row["monitor_id"], row["region"]), []).append(row)
    if not groups:
        return []
    infos = await _load_monitors(connection, list({key[0] for key in groups}))
    canaries = {key: group for key, group in groups.items() if _is_canary(infos, key[0])}
    others = {key: group for key, group in groups.items() if key not in canaries}

    transitions = await _apply(connection, canaries, infos)
    failing = await _failing_canaries(connection, {infos[k[0]].organization_id for k in others})
    others = await _mark_unknown(connection, others, infos, failing)
    transitions += await _apply(connection, others, infos)
    return transitions


def _is_canary(infos: dict[uuid.UUID, _MonitorInfo], monitor_id: uuid.UUID) -> bool:
    info = infos.get(monitor_id)
    return info is not None and info.rules.is_canary


async def _load_monitors(
    connection: asyncpg.Connection, monitor_ids: list[uuid.UUID]
) -> dict[uuid.UUID, _MonitorInfo]:
    rows = await connection.fetch(
        "SELECT id, organization_id, interval_seconds, alert_settings::text AS rules "
        "FROM monitors WHERE id = ANY($1::uuid[])",
        monitor_ids,
    )
    return {
        row["id"]: _MonitorInfo(
            row["organization_id"],
            row["interval_seconds"],
            AlertSettings.model_validate_json(row["rules"]) if row["rules"] else load_settings({}),
        )
        for row in rows
    }


async def _failing_canaries(
    connection: asyncpg.Connection, organization_ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], dt.datetime]:
    """Return (organisation, region) pairs whose canary failed, with the oldest
    result time that the failure still covers."""
    if not organization_ids:
        return {}
    rows = await connection.fetch(
        "SELECT m.organization_id, rs.region, rs.last_scheduled_at, m.interval_seconds "
        "FROM region_states rs JOIN monitors m ON m.id = rs.monitor_id "
        "WHERE m.organization_id = ANY($1::uuid[]) "
        "AND (m.alert_settings->>'is_canary')::boolean AND rs.consecutive_failures > 0",
        list(organization_ids),
    )
    failing: dict[tuple[uuid.UUID, str], dt.datetime] = {}
    for row in rows:
        covered_from = row["last_scheduled_at"] - dt.timedelta(
            seconds=row["interval_seconds"] * CANARY_VALID_INTERVALS
        )
        key = (row["organization_id"], row["region"])
        failing[key] = min(covered_from, failing.get(key, covered_from))
    return failing


async def _mark_unknown(
    connection: asyncpg.Connection,
    groups: dict[Key, list[asyncpg.Record]],
    infos: dict[uuid.UUID, _MonitorInfo],
    failing: dict[tuple[uuid.UUID, str], dt.datetime],
) -> dict[Key, list[asyncpg.Record]]:
    """Store failures covered by a failing canary as unknown."""
    if not failing:
        return groups
    marked: list[tuple[uuid.UUID, str, dt.datetime]] = []
    result: dict[Key, list[asyncpg.Record]] = {}
    for key, group in groups.items():
        info = infos.get(key[0])
        covered_from = failing.get((info.organization_id, key[1])) if info else None
        rewritten = []
        for row in group:
            if covered_from is not None and row["status"] == STATUS_DOWN:
                if row["scheduled_at"] >= covered_from:
                    row = {**dict(row), "status": STATUS_UNKNOWN}
                    marked.append((key[0], key[1], row["scheduled_at"]))
            rewritten.append(row)
        result[key] = rewritten
    if marked:
        await connection.executemany(
            "UPDATE check_results SET status = $4 "
            "WHERE monitor_id = $1 AND region = $2 AND scheduled_at = $3",
            [(*item, STATUS_UNKNOWN) for item in marked],
        )
    return result


async def _apply(
    connection: asyncpg.Connection,
    groups: dict[Key, list[asyncpg.Record]],
    infos: dict[uuid.UUID, _MonitorInfo],
) -> list[Transition]:
    if not groups:
        return []
    existing = {
        (row["monitor_id"], row["region"]): row
        for row in await connection.fetch(
            "SELECT rs.* FROM region_states rs "
            "JOIN unnest($1::uuid[], $2::text[]) AS k(monitor_id, region) "
            "USING (monitor_id, region) ORDER BY monitor_id, region FOR UPDATE OF rs",
            [key[0] for key in groups],
            [key[1] for key in groups],
        )
    }
    updates = []
    transitions: list[Transition] = []
    for key, group in groups.items():
        info = infos.get(key[0])
        if info is None:
            continue
        update = _fold(key, group, existing.get(key), info.rules, transitions)
        if update is not None:
            updates.append(update)
    await connection.executemany(
        """
        INSERT INTO region_states (monitor_id, region, status, consecutive_failures,
            consecutive_successes, consecutive_slow, recent_statuses, last_scheduled_at,
            last_latency_ms, last_error, changed_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (monitor_id, region) DO UPDATE SET
            status = excluded.status,
            consecutive_failures = excluded.consecutive_failures,
            consecutive_successes = excluded.consecutive_successes,
            consecutive_slow = excluded.consecutive_slow,
            recent_statuses = excluded.recent_statuses,
            last_scheduled_at = excluded.last_scheduled_at,
            last_latency_ms = excluded.last_latency_ms,
            last_error = excluded.last_error,
            changed_at = excluded.changed_at
        """,
        updates,
    )
    await connection.executemany(
        "INSERT INTO region_transitions (monitor_id, region, previous, current, at, error) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (t.monitor_id, t.region, t.previous, t.current, t.at, _error_at(groups, t))
            for t in transitions
        ],
    )
    return transitions


def _error_at(groups: dict[Key, list[asyncpg.Record]], transition: Transition) -> str | None:
    if transition.current != "down":
        return None
    for row in groups[(transition.monitor_id, transition.region)]:
        if row["scheduled_at"] == transition.at:
            message: str | None = row["error_message"]
            return message
    return None


def _fold(
    key: Key,
    group: list[asyncpg.Record],
    state: asyncpg.Record | None,
    rules: AlertSettings,
    transitions: list[Transition],
) -> tuple[object, ...] | None:
    """Apply a region's new rows in time order; return the row to store."""
    counters = RegionCounters(
        status=state["status"] if state else None,
        failures=state["consecutive_failures"] if state else 0,
        successes=state["consecutive_successes"] if state else 0,
        slow=state["consecutive_slow"] if state else 0,
        recent=list(state["recent_statuses"]) if state else [],
    )
    last_at = state["last_scheduled_at"] if state else None
    changed_at = state["changed_at"] if state else None
    latest = None
    for row in sorted(group, key=lambda r: r["scheduled_at"]):
        if last_at is not None and row["scheduled_at"] <= last_at:
            # A late result older than the state's latest: stored for
            # uptime, but it must not rewind the current verdict.
            continue
        latest = row
        last_at = row["scheduled_at"]
        new_status = apply_result(counters, row["status"], row["latency_ms"] or 0.0, rules)
        if new_status != counters.status:
            transitions.append(
                Transition(key[0], key[1], counters.status, new_status, row["scheduled_at"])
            )
            counters.status, changed_at = new_status, row["scheduled_at"]
    if latest is None:
        return None
    return (
        key[0],
        key[1],
        counters.status,
        counters.failures,
        counters.successes,
        counters.slow,
        counters.recent,
        last_at,
        latest["latency_ms"],
        latest["error_message"],
        changed_at or latest["scheduled_at"],
    )
