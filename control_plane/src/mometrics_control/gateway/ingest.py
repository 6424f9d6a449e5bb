"""Validation and storage of result batches.

A batch goes to PostgreSQL as one array per column, in a single statement
that converts the agent's microsecond times and inserts into
`check_results` with ON CONFLICT DO NOTHING on (monitor, region, scheduled
time), so a resent batch stores nothing twice. The same statement marks the
new rows' minutes for the rollup job. Region states are updated from the
new rows in the same transaction, and the caller acknowledges the batch
only after this commit.
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
MAX_LATENCY_MS = 3_600_000
# check_results.status_code is a smallint; HTTP codes stay below 1000.
MAX_STATUS_CODE = 999
_US_PER_DAY = 86_400_000_000

# $1..$16 are column arrays in the order of _columns(); $17 is the region
# and $18 the agent id. Times arrive as Unix microseconds; multiplying an
# interval keeps them exact, where a float of seconds would round.
_STORE_SQL = f"""
WITH incoming AS (
    SELECT * FROM unnest(
        $1::bigint[], $2::text[], $3::bigint[], $4::smallint[], $5::real[], $6::real[],
        $7::real[], $8::real[], $9::real[], $10::real[], $11::integer[], $12::text[],
        $13::text[], $14::bigint[], $15::real[], $16::boolean[]
    ) AS r(scheduled_us, monitor_id, started_us, status, latency_ms, dns_ms, connect_ms,
           tls_ms, first_byte_ms, transfer_ms, status_code, error_class, error_message,
           cert_expires_us, loop_lag_ms, is_low_confidence)
), inserted AS (
    INSERT INTO check_results (
        scheduled_at, monitor_id, region, agent_id, started_at, status, latency_ms,
        dns_ms, connect_ms, tls_ms, first_byte_ms, transfer_ms, status_code,
        error_class, error_message, cert_expires_at, loop_lag_ms, is_low_confidence)
    SELECT timestamptz 'epoch' + scheduled_us * interval '1 microsecond',
           monitor_id::uuid, $17, $18,
           timestamptz 'epoch'
               + coalesce(nullif(started_us, 0), scheduled_us) * interval '1 microsecond',
           status, latency_ms, dns_ms, connect_ms, tls_ms, first_byte_ms, transfer_ms,
           nullif(status_code, 0), nullif(error_class, ''),
           left(nullif(error_message, ''), {MAX_MESSAGE_CHARS}),
           timestamptz 'epoch' + nullif(cert_expires_us, 0) * interval '1 microsecond',
           loop_lag_ms, is_low_confidence
    FROM incoming
    ON CONFLICT DO NOTHING
    RETURNING monitor_id, region, scheduled_at, status, latency_ms, error_message
), marked AS (
    INSERT INTO rollup_dirty (resolution_s, monitor_id, region, bucket)
    SELECT DISTINCT 60, monitor_id, region, date_trunc('minute', scheduled_at, 'UTC')
    FROM inserted
    ON CONFLICT DO NOTHING
)
SELECT * FROM inserted
"""


def _us(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def validate(
    batch: agent_pb2.ResultBatch,
    region: str,
    monitors: dict[str, MonitorDef],
    now: dt.datetime,
) -> tuple[list[agent_pb2.CheckResult], list[str]]:
    """Split a batch into acceptable results and reasons for the others."""
    oldest_us = _us(now - MAX_AGE)
    newest_us = _us(now + MAX_FUTURE)
    accepted = []
    reasons: list[str] = []
    for result in batch.results:
        monitor = monitors.get(result.monitor_id)
        scheduled_us = result.scheduled_at_us
        if monitor is None:
            reasons.append(f"unknown or paused monitor {result.monitor_id}")
        elif region not in monitor.regions:
            reasons.append(f"monitor {result.monitor_id} is not checked in region {region}")
        elif result.status not in (agent_pb2.CHECK_STATUS_UP, agent_pb2.CHECK_STATUS_DOWN):
            reasons.append(f"result for {result.monitor_id} has no status")
        elif scheduled_us < oldest_us:
            reasons.append(f"result for {result.monitor_id} is older than {MAX_AGE.days} days")
        elif scheduled_us > newest_us:
            scheduled = dt.datetime.fromtimestamp(scheduled_us / 1_000_000, dt.UTC)
            reasons.append(f"result for {result.monitor_id} is in the future ({scheduled})")
        elif not 0 <= result.latency_ms <= MAX_LATENCY_MS:
            reasons.append(f"result for {result.monitor_id} has latency {result.latency_ms}")
        elif result.status_code > MAX_STATUS_CODE:
            reasons.append(f"result for {result.monitor_id} has status code {result.status_code}")
        else:
            accepted.append(result)
    return accepted, reasons[:20]


def _columns(results: list[agent_pb2.CheckResult]) -> list[list[object]]:
    """Return the batch as column arrays, the parameters $1..$16 of _STORE_SQL."""
    phases = [result.phases for result in results]
    return [
        [r.scheduled_at_us for r in results],
        [r.monitor_id for r in results],
        [r.started_at_us for r in results],
        # CheckStatus UP (1) and DOWN (2) are the stored status codes.
        [r.status for r in results],
        [r.latency_ms for r in results],
        [p.dns_ms for p in phases],
        [p.connect_ms for p in phases],
        [p.tls_ms for p in phases],
        [p.first_byte_ms for p in phases],
        [p.transfer_ms for p in phases],
        [r.status_code for r in results],
        [r.error_class for r in results],
        [r.error_message for r in results],
        [r.cert_expires_at_us for r in results],
        [r.loop_lag_ms for r in results],
        [r.is_low_confidence for r in results],
    ]


class Ingestor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._known_days: set[int] = set()

    async def _ensure_partitions(self, connection: asyncpg.Connection, days: set[int]) -> None:
        """Create the daily partitions of `days` (days since 1970-01-01) if missing."""
        for day in sorted(days - self._known_days):
            date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
            await connection.execute("SELECT mometrics_ensure_partition($1)", date)
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
        columns = _columns(results)
        days = {scheduled_us // _US_PER_DAY for scheduled_us in columns[0]}  # type: ignore[operator]
        started = time.monotonic()
        async with self.pool.acquire() as connection, connection.transaction():
            await self._ensure_partitions(connection, days)
            inserted = await connection.fetch(_STORE_SQL, *columns, region, agent_id)
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
