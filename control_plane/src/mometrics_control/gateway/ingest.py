"""Validation and storage of result batches.

A batch is written with COPY into a temporary table and moved into
`check_results` with ON CONFLICT DO NOTHING on (monitor, region, scheduled
time), so a resent batch stores nothing twice. Region states are updated
from the newly stored rows in the same transaction; the caller acknowledges
the batch only after this commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid

import asyncpg

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.assignment import MonitorDef

log = logging.getLogger("mometrics.gateway.ingest")

# Results older than this are rejected: retention would drop them anyway.
MAX_AGE = dt.timedelta(days=7)
# Results further in the future than this point at a broken agent clock.
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_MESSAGE_CHARS = 1000

# Consecutive failures that turn a region down, and successes that turn it
# up again.
DOWN_AFTER = 2
UP_AFTER = 1

_COLUMNS = (
    "scheduled_at",
    "monitor_id",
    "region",
    "agent_id",
    "started_at",
    "status",
    "latency_ms",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "first_byte_ms",
    "transfer_ms",
    "status_code",
    "error_class",
    "error_message",
    "cert_expires_at",
    "loop_lag_ms",
    "is_low_confidence",
)
_COLUMN_LIST = ", ".join(_COLUMNS)


@dataclasses.dataclass(frozen=True)
class Transition:
    """A region of a monitor that changed state with this batch."""

    monitor_id: uuid.UUID
    region: str
    previous: str | None
    current: str
    at: dt.datetime


@dataclasses.dataclass
class IngestOutcome:
    stored: int
    rejected: int
    reasons: list[str]
    transitions: list[Transition]


def _time(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC)


def validate(
    batch: agent_pb2.ResultBatch,
    region: str,
    monitors: dict[str, MonitorDef],
    now: dt.datetime,
) -> tuple[list[agent_pb2.CheckResult], list[str]]:
    """Split a batch into acceptable results and reasons for the others."""
    accepted = []
    reasons: list[str] = []
    for result in batch.results:
        monitor = monitors.get(result.monitor_id)
        scheduled = _time(result.scheduled_at_us)
        if monitor is None:
            reasons.append(f"unknown or paused monitor {result.monitor_id}")
        elif region not in monitor.regions:
            reasons.append(f"monitor {result.monitor_id} is not checked in region {region}")
        elif result.status not in (agent_pb2.CHECK_STATUS_UP, agent_pb2.CHECK_STATUS_DOWN):
            reasons.append(f"result for {result.monitor_id} has no status")
        elif scheduled < now - MAX_AGE:
            reasons.append(f"result for {result.monitor_id} is older than {MAX_AGE.days} days")
        elif scheduled > now + MAX_FUTURE:
            reasons.append(f"result for {result.monitor_id} is in the future ({scheduled})")
        elif result.latency_ms < 0 or result.latency_ms > 3_600_000:
            reasons.append(f"result for {result.monitor_id} has latency {result.latency_ms}")
        else:
            accepted.append(result)
    return accepted, reasons[:20]


def _record(result: agent_pb2.CheckResult, region: str, agent_id: uuid.UUID) -> tuple[object, ...]:
    phases = result.phases
    is_up = result.status == agent_pb2.CHECK_STATUS_UP
    return (
        _time(result.scheduled_at_us),
        uuid.UUID(result.monitor_id),
        region,
        agent_id,
        _time(result.started_at_us or result.scheduled_at_us),
        1 if is_up else 2,
        result.latency_ms,
        phases.dns_ms,
        phases.connect_ms,
        phases.tls_ms,
        phases.first_byte_ms,
        phases.transfer_ms,
        result.status_code or None,
        result.error_class or None,
        result.error_message[:MAX_MESSAGE_CHARS] or None,
        _time(result.cert_expires_at_us) if result.cert_expires_at_us else None,
        result.loop_lag_ms,
        result.is_low_confidence,
    )


class Ingestor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._known_days: set[dt.date] = set()

    async def _ensure_partitions(self, connection: asyncpg.Connection, days: set[dt.date]) -> None:
        for day in sorted(days - self._known_days):
            await connection.execute("SELECT mometrics_ensure_partition($1)", day)
            self._known_days.add(day)

    async def store(
        self,
        agent_id: uuid.UUID,
        region: str,
        results: list[agent_pb2.CheckResult],
    ) -> tuple[int, list[Transition]]:
        """Commit the results and return how many were new and state changes."""
        if not results:
            return 0, []
        records = [_record(result, region, agent_id) for result in results]
        days = {record[0].date() for record in records}  # type: ignore[attr-defined]
        started = time.monotonic()
        async with self.pool.acquire() as connection, connection.transaction():
            await self._ensure_partitions(connection, days)
            await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS ingest_rows "
                "(LIKE check_results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            await connection.copy_records_to_table(
                "ingest_rows", records=records, columns=list(_COLUMNS)
            )
            inserted = await connection.fetch(
                f"INSERT INTO check_results ({_COLUMN_LIST}) "
                f"SELECT {_COLUMN_LIST} FROM ingest_rows "
                "ON CONFLICT DO NOTHING "
                "RETURNING monitor_id, region, scheduled_at, status, latency_ms, error_message"
            )
            transitions = await _update_region_states(connection, inserted)
        log.debug(
            "batch stored",
            extra={
                "agent_id": str(agent_id),
                "stored": len(inserted),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return len(inserted), transitions


async def _update_region_states(
    connection: asyncpg.Connection, rows: list[asyncpg.Record]
) -> list[Transition]:
    groups: dict[tuple[uuid.UUID, str], list[asyncpg.Record]] = {}
    for row in rows:
        groups.setdefault((row["monitor_id"], row["region"]), []).append(row)
    if not groups:
        return []
    monitor_ids = [key[0] for key in groups]
    regions = [key[1] for key in groups]
    existing = {
        (row["monitor_id"], row["region"]): row
        for row in await connection.fetch(
            "SELECT rs.* FROM region_states rs "
            "JOIN unnest($1::uuid[], $2::text[]) AS k(monitor_id, region) "
            "USING (monitor_id, region) ORDER BY monitor_id, region FOR UPDATE OF rs",
            monitor_ids,
            regions,
        )
    }
    updates = []
    transitions = []
    for key, group in groups.items():
        state = existing.get(key)
        status = state["status"] if state else None
        failures = state["consecutive_failures"] if state else 0
        successes = state["consecutive_successes"] if state else 0
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
            if row["status"] == 1:
                successes, failures = successes + 1, 0
                new_status = "up" if successes >= UP_AFTER else status
            else:
                failures, successes = failures + 1, 0
                new_status = "down" if failures >= DOWN_AFTER else status
            new_status = new_status or "no_data"
            if new_status != status:
                transitions.append(
                    Transition(key[0], key[1], status, new_status, row["scheduled_at"])
                )
                status, changed_at = new_status, row["scheduled_at"]
        if latest is None:
            continue
        updates.append(
            (
                key[0],
                key[1],
                status,
                failures,
                successes,
                last_at,
                latest["latency_ms"],
                latest["error_message"],
                changed_at or latest["scheduled_at"],
            )
        )
    await connection.executemany(
        """
        INSERT INTO region_states (monitor_id, region, status, consecutive_failures,
            consecutive_successes, last_scheduled_at, last_latency_ms, last_error,
            changed_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (monitor_id, region) DO UPDATE SET
            status = excluded.status,
            consecutive_failures = excluded.consecutive_failures,
            consecutive_successes = excluded.consecutive_successes,
            last_scheduled_at = excluded.last_scheduled_at,
            last_latency_ms = excluded.last_latency_ms,
            last_error = excluded.last_error,
            changed_at = excluded.changed_at
        """,
        updates,
    )
    return transitions
