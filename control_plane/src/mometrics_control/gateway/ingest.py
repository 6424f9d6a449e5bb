"""Validation and storage of result batches.

A batch is written with COPY into a temporary table and moved into
`check_results` with ON CONFLICT DO NOTHING on (monitor, region, scheduled
time), so a resent batch stores nothing twice. Region states are updated
from the newly stored rows in the same transaction; the caller acknowledges
the batch only after this commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

import asyncpg

from mometrics.probe.v1 import agent_pb2
from mometrics_control.alerting.state import Transition, update_region_states
from mometrics_control.gateway.assignment import MonitorDef

log = logging.getLogger("mometrics.gateway.ingest")

# Results older than this are rejected: retention would drop them anyway.
MAX_AGE = dt.timedelta(days=7)
# Results further in the future than this point at a broken agent clock.
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_MESSAGE_CHARS = 1000

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
            transitions = await update_region_states(connection, inserted)
        log.debug(
            "batch stored",
            extra={
                "agent_id": str(agent_id),
                "stored": len(inserted),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return len(inserted), transitions
