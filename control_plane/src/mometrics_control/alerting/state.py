"""Per-region verdicts of monitors, updated from newly stored results.

Runs inside the ingest transaction, so a region's state always matches the
results committed with it. Only rows that were new (not resent duplicates)
are passed in, so replays never count a failure twice.

However many results a batch carries, one statement locks and reads the
current states of its monitors, and after the fold in Python, a second one
writes every changed state and logs the transitions.
Times travel as Unix microseconds (bigint), which PostgreSQL converts
exactly, so no datetime objects are built per result. Arrays travel as text
literals such as '{a,b}' (see array_literal).

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
import struct
import uuid
from collections.abc import Iterable
from typing import NamedTuple

import asyncpg

from mometrics_control.alerting.rules import (
    STATUS_DOWN,
    STATUS_UNKNOWN,
    RegionCounters,
    apply_result,
)
from mometrics_control.alerting.settings import AlertSettings

# A canary failure older than this many canary intervals no longer counts.
CANARY_VALID_INTERVALS = 2
# Maximum number of monitors whose rules MonitorRules keeps. Past it the
# cache starts over.
MAX_CACHED_MONITORS = 500_000

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US_PER_S = 1_000_000
_FLOAT4 = struct.Struct("f")


@dataclasses.dataclass(frozen=True)
class Transition:
    """A region of a monitor that changed state with this batch."""

    monitor_id: uuid.UUID
    region: str
    previous: str | None
    current: str
    at: dt.datetime


class NewResult(NamedTuple):
    """A newly stored result, with the fields that region states depend on."""

    monitor_id: str
    scheduled_us: int
    status: int
    latency_ms: float
    error_message: str | None
    # Expiry of the peer certificate as Unix microseconds, 0 when none.
    cert_expires_us: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorInfo:
    organization_id: str
    interval_s: int
    rules: AlertSettings


class MonitorRules:
    """Alert rules of monitors, parsed once and kept until `forget`.

    The gateway calls `forget` for every monitor that changes, so a cached
    rule is at most as old as the gateway's own copy of the monitor.
    """

    def __init__(self) -> None:
        self._infos: dict[str, MonitorInfo] = {}
        # Grows at every forget, so a read that a forget overtook is not kept.
        self._forgets = 0

    async def load(
        self, connection: asyncpg.Connection, monitor_ids: Iterable[str]
    ) -> dict[str, MonitorInfo]:
        """Return the rules of `monitor_ids`, leaving out deleted monitors."""
        infos = self._infos
        found = {}
        missing = []
        for monitor_id in monitor_ids:
            info = infos.get(monitor_id)
            if info is None:
                missing.append(monitor_id)
            else:
                found[monitor_id] = info
        if not missing:
            return found
        forgets = self._forgets
        rows = await connection.fetch(
            "SELECT id::text, organization_id::text, interval_seconds, "
            "alert_settings::text FROM monitors WHERE id = ANY($1::uuid[])",
            missing,
        )
        loaded = {
            monitor_id: MonitorInfo(
                organization_id, interval_s, AlertSettings.model_validate_json(rules)
            )
            for monitor_id, organization_id, interval_s, rules in rows
        }
        found.update(loaded)
        if forgets == self._forgets:
            if len(infos) + len(loaded) > MAX_CACHED_MONITORS:
                infos.clear()
            infos.update(loaded)
        return found

    def forget(self, monitor_ids: Iterable[str]) -> None:
        self._forgets += 1
        for monitor_id in monitor_ids:
            self._infos.pop(monitor_id, None)


async def update_region_states(
    connection: asyncpg.Connection, rows: list[asyncpg.Record]
) -> list[Transition]:
    """Fold newly inserted check_results rows into region states.

    `rows` carry monitor_id, region, scheduled_at, status, latency_ms and
    error_message, as an INSERT ... RETURNING returns them.
    """
    by_region: dict[str, list[NewResult]] = {}
    for row in rows:
        by_region.setdefault(row["region"], []).append(
            NewResult(
                str(row["monitor_id"]),
                _to_us(row["scheduled_at"]),
                row["status"],
                row["latency_ms"] or 0.0,
                row["error_message"],
            )
        )
    transitions: list[Transition] = []
    rules = MonitorRules()
    for region, results in by_region.items():
        transitions += await fold_results(connection, region, results, rules)
    return transitions


async def fold_results(
    connection: asyncpg.Connection,
    region: str,
    results: list[NewResult],
    rules: MonitorRules,
) -> list[Transition]:
    """Apply one region's new results to its region states and return the changes."""
    groups: dict[str, list[NewResult]] = {}
    for result in results:
        group = groups.get(result.monitor_id)
        if group is None:
            groups[result.monitor_id] = [result]
        else:
            group.append(result)
    infos = await rules.load(connection, groups)
    canaries = {m: group for m, group in groups.items() if m in infos and infos[m].rules.is_canary}
    others = {m: group for m, group in groups.items() if m in infos and m not in canaries}

    transitions = await _apply(connection, region, canaries, infos)
    others = await _mark_unknown(connection, region, others, infos)
    transitions += await _apply(connection, region, others, infos)
    return transitions


def array_literal(items: Iterable[object]) -> str:
    """Return the PostgreSQL array literal of items whose text needs no quotes.

    Statements take such literals as text and cast them (`$1::text::uuid[]`)
    because asyncpg 0.32 checks every element of a list parameter against
    collections.abc types to find nested arrays. With list parameters those
    checks took about 30 % of Ingestor.store's CPU time under cProfile.
    Numbers, UUIDs and plain words need no quotes.
    """
    return "{" + ",".join(map(str, items)) + "}"


def quoted_array_literal(items: Iterable[str | None]) -> str:
    """Return the PostgreSQL array literal of any strings, None as NULL."""
    return "{" + ",".join(_quote(item) for item in items) + "}"


def _quote(item: str | None) -> str:
    if item is None:
        return "NULL"
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _to_us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _to_datetime(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


# The canaries of the given organisations whose latest result in region $2
# failed, with the time of that result as Unix microseconds. The partial
# index monitors_canaries (migration 0008) keeps this to the canaries alone.
_FAILING_CANARIES_SQL = """
SELECT m.organization_id::text, m.interval_seconds,
       (extract(epoch FROM rs.last_scheduled_at) * 1000000)::bigint
FROM monitors m JOIN region_states rs ON rs.monitor_id = m.id AND rs.region = $2
WHERE m.organization_id = ANY($1::uuid[])
  AND (m.alert_settings->>'is_canary')::boolean AND rs.consecutive_failures > 0
"""

_MARK_UNKNOWN_SQL = """
UPDATE check_results cr SET status = $3
FROM unnest($1::uuid[], $2::bigint[]) AS u(monitor_id, scheduled_us)
WHERE cr.monitor_id = u.monitor_id AND cr.region = $4
  AND cr.scheduled_at = timestamptz 'epoch' + u.scheduled_us * interval '1 microsecond'
"""


async def _mark_unknown(
    connection: asyncpg.Connection,
    region: str,
    groups: dict[str, list[NewResult]],
    infos: dict[str, MonitorInfo],
) -> dict[str, list[NewResult]]:
    """Store failures covered by a failing canary as unknown."""
    failing_orgs = {
        infos[monitor_id].organization_id
        for monitor_id, group in groups.items()
        if any(result.status == STATUS_DOWN for result in group)
    }
    if not failing_orgs:
        return groups
    covered_from: dict[str, int] = {}
    for organization_id, interval_s, last_us in await connection.fetch(
        _FAILING_CANARIES_SQL, list(failing_orgs), region
    ):
        start = last_us - interval_s * CANARY_VALID_INTERVALS * _US_PER_S
        covered_from[organization_id] = min(start, covered_from.get(organization_id, start))
    if not covered_from:
        return groups

    marked: list[NewResult] = []
    rewritten: dict[str, list[NewResult]] = {}
    for monitor_id, group in groups.items():
        start = covered_from.get(infos[monitor_id].organization_id)
        if start is None:
            rewritten[monitor_id] = group
            continue
        rows = []
        for result in group:
            if result.status == STATUS_DOWN and result.scheduled_us >= start:
                result = result._replace(status=STATUS_UNKNOWN)
                marked.append(result)
            rows.append(result)
        rewritten[monitor_id] = rows
    if marked:
        await connection.execute(
            _MARK_UNKNOWN_SQL,
            [result.monitor_id for result in marked],
            [result.scheduled_us for result in marked],
            STATUS_UNKNOWN,
            region,
        )
    return rewritten


# Locks the states in a fixed order, so two transactions that touch the
# same monitors wait for each other instead of deadlocking.
_LOCK_STATES_SQL = """
SELECT monitor_id::text, status, consecutive_failures, consecutive_successes,
       consecutive_slow, recent_statuses,
       (extract(epoch FROM last_scheduled_at) * 1000000)::bigint,
       (extract(epoch FROM changed_at) * 1000000)::bigint
FROM region_states
WHERE monitor_id = ANY($1::text::uuid[]) AND region = $2
ORDER BY monitor_id
FOR UPDATE
"""

# $1..$11 are one array literal per column of the changed states, $12..$16
# one per column of the transitions, and $17 is the region. Each element of
# $6 is itself the literal of a recent_statuses array, such as "{1,2}".
_WRITE_STATES_SQL = """
WITH written AS (
    INSERT INTO region_states (monitor_id, region, status, consecutive_failures,
        consecutive_successes, consecutive_slow, recent_statuses, last_scheduled_at,
        last_latency_ms, last_error, changed_at, cert_expires_at)
    SELECT s.monitor_id, $17, s.status, s.failures, s.successes, s.slow,
           s.recent::smallint[],
           timestamptz 'epoch' + s.last_us * interval '1 microsecond',
           s.latency_ms::real, s.error,
           timestamptz 'epoch' + s.changed_us * interval '1 microsecond',
           timestamptz 'epoch' + nullif(s.cert_us, 0) * interval '1 microsecond'
    FROM unnest($1::text::uuid[], $2::text::text[], $3::text::integer[],
                $4::text::integer[], $5::text::integer[], $6::text::text[],
                $7::text::bigint[], $8::text::float8[], $9::text::text[],
                $10::text::bigint[], $11::text::bigint[])
         AS s(monitor_id, status, failures, successes, slow, recent, last_us, latency_ms,
              error, changed_us, cert_us)
    ON CONFLICT (monitor_id, region) DO UPDATE SET
        status = excluded.status,
        consecutive_failures = excluded.consecutive_failures,
        consecutive_successes = excluded.consecutive_successes,
        consecutive_slow = excluded.consecutive_slow,
        recent_statuses = excluded.recent_statuses,
        last_scheduled_at = excluded.last_scheduled_at,
        last_latency_ms = excluded.last_latency_ms,
        last_error = excluded.last_error,
        changed_at = excluded.changed_at,
        cert_expires_at = excluded.cert_expires_at
)
INSERT INTO region_transitions (monitor_id, region, previous, current, at, error)
SELECT t.monitor_id, $17, t.previous, t.current,
       timestamptz 'epoch' + t.at_us * interval '1 microsecond', t.error
FROM unnest($12::text::uuid[], $13::text::text[], $14::text::text[],
            $15::text::bigint[], $16::text::text[])
     AS t(monitor_id, previous, current, at_us, error)
"""


class _StateColumns:
    """Changed region states as one list per column of _WRITE_STATES_SQL."""

    def __init__(self) -> None:
        self.monitor_ids: list[str] = []
        self.statuses: list[str] = []
        self.failures: list[int] = []
        self.successes: list[int] = []
        self.slow: list[int] = []
        self.recent: list[str] = []
        self.last_us: list[int] = []
        self.latencies: list[float] = []
        self.errors: list[str | None] = []
        self.changed_us: list[int] = []
        self.cert_us: list[int] = []

    def as_parameters(self) -> list[str]:
        return [
            array_literal(self.monitor_ids),
            array_literal(self.statuses),
            array_literal(self.failures),
            array_literal(self.successes),
            array_literal(self.slow),
            array_literal(self.recent),
            array_literal(self.last_us),
            array_literal(self.latencies),
            quoted_array_literal(self.errors),
            array_literal(self.changed_us),
            array_literal(self.cert_us),
        ]


async def _apply(
    connection: asyncpg.Connection,
    region: str,
    groups: dict[str, list[NewResult]],
    infos: dict[str, MonitorInfo],
) -> list[Transition]:
    if not groups:
        return []
    existing = {
        row[0]: row
        for row in await connection.fetch(_LOCK_STATES_SQL, array_literal(groups), region)
    }
    states = _StateColumns()
    transitions: list[_Change] = []
    for monitor_id, group in groups.items():
        _fold(
            monitor_id,
            group,
            existing.get(monitor_id),
            infos[monitor_id].rules,
            states,
            transitions,
        )
    if not states.monitor_ids:
        return []
    await connection.execute(
        _WRITE_STATES_SQL,
        *states.as_parameters(),
        array_literal(change.monitor_id for change in transitions),
        quoted_array_literal(change.previous for change in transitions),
        array_literal(change.current for change in transitions),
        array_literal(change.at_us for change in transitions),
        quoted_array_literal(change.error for change in transitions),
        region,
    )
    return [
        Transition(
            uuid.UUID(change.monitor_id),
            region,
            change.previous,
            change.current,
            _to_datetime(change.at_us),
        )
        for change in transitions
    ]


class _Change(NamedTuple):
    monitor_id: str
    previous: str | None
    current: str
    at_us: int
    # The failing result's message when the region turns down.
    error: str | None


def _as_real(value: float) -> float:
    """Round to float4, as check_results.latency_ms stores the value."""
    rounded: float = _FLOAT4.unpack(_FLOAT4.pack(value))[0]
    return rounded


def _fold(
    monitor_id: str,
    group: list[NewResult],
    state: asyncpg.Record | None,
    rules: AlertSettings,
    states: _StateColumns,
    transitions: list[_Change],
) -> None:
    """Apply a region's new results in time order and record the state to store."""
    if state is None:
        counters = RegionCounters(status=None)
        last_us: int | None = None
        changed_us: int | None = None
    else:
        _, status, failures, successes, slow, recent, last_us, changed_us = state
        counters = RegionCounters(status, failures, successes, slow, list(recent))
    # Rules compare the stored (float4) latency, as they did when they read
    # the values back from check_results.
    needs_real = rules.degraded_latency_ms is not None
    latest = None
    if len(group) > 1:
        group = sorted(group, key=lambda result: result.scheduled_us)
    for result in group:
        if last_us is not None and result.scheduled_us <= last_us:
            # A late result older than the state's latest: stored for
            # uptime, but it must not rewind the current verdict.
            continue
        latest = result
        last_us = result.scheduled_us
        latency_ms = _as_real(result.latency_ms) if needs_real else result.latency_ms
        new_status = apply_result(counters, result.status, latency_ms, rules)
        if new_status != counters.status:
            error = result.error_message if new_status == "down" else None
            transitions.append(
                _Change(monitor_id, counters.status, new_status, result.scheduled_us, error)
            )
            counters.status, changed_us = new_status, result.scheduled_us
    if latest is None:
        return
    states.monitor_ids.append(monitor_id)
    states.statuses.append(counters.status)  # type: ignore[arg-type]
    states.failures.append(counters.failures)
    states.successes.append(counters.successes)
    states.slow.append(counters.slow)
    # Quoted, as the element of an array literal. Statuses need no escapes.
    states.recent.append('"{' + ",".join(map(str, counters.recent)) + '}"')
    states.last_us.append(latest.scheduled_us)
    states.latencies.append(latest.latency_ms)
    states.errors.append(latest.error_message)
    states.changed_us.append(changed_us if changed_us is not None else latest.scheduled_us)
    states.cert_us.append(latest.cert_expires_us)
