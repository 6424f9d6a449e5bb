"""Validation and storage of result batches.

A batch is written with one binary COPY into `check_results` (see
binary_copy.py), in a transaction that also marks the new rows' minutes for
the rollup job and folds them into region states. The caller acknowledges
the batch only after this commit. The unique key (monitor, region,
scheduled time) makes a resent batch fail the COPY. Such a batch is then
written again through a temporary table with ON CONFLICT DO NOTHING, and
only the rows that were new count, so a resent batch stores nothing twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping

import asyncpg

from mometrics.probe.v1 import agent_pb2
from mometrics_control.alerting.state import (
    MonitorRules,
    NewResult,
    Transition,
    array_literal,
    fold_results,
)
from mometrics_control.gateway.assignment import MonitorDef
from mometrics_control.gateway.binary_copy import COLUMNS, EncodedBatch, ResultEncoder

log = logging.getLogger("mometrics.gateway.ingest")

# Results older than this are rejected: retention would drop them anyway.
MAX_AGE = dt.timedelta(days=7)
# Results further in the future than this point at a broken agent clock.
MAX_FUTURE = dt.timedelta(minutes=5)
MAX_LATENCY_MS = 3_600_000
# check_results.status_code is a smallint; HTTP codes stay below 1000.
MAX_STATUS_CODE = 999
# Certificates expire before the year 10000 (X.509 GeneralizedTime).
MAX_CERT_EXPIRY_US = 253_402_300_800_000_000
# Maximum number of reasons listed in one acknowledgement.
MAX_REASONS = 20
_US_PER_DAY = 86_400_000_000
_US_PER_MINUTE = 60_000_000

_COLUMN_LIST = ", ".join(COLUMNS)
_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming_results "
    "(LIKE check_results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
# Copies the staged rows that are new and returns their keys as text and
# Unix microseconds.
_INSERT_NEW_SQL = f"""
INSERT INTO check_results ({_COLUMN_LIST})
SELECT {_COLUMN_LIST} FROM incoming_results
ON CONFLICT DO NOTHING
RETURNING monitor_id::text, (extract(epoch FROM scheduled_at) * 1000000)::bigint
"""
_MARK_DIRTY_SQL = """
INSERT INTO rollup_dirty (resolution_s, monitor_id, region, bucket)
SELECT 60, d.monitor_id, $3, timestamptz 'epoch' + d.minute_us * interval '1 microsecond'
FROM unnest($1::text::uuid[], $2::text::bigint[]) AS d(monitor_id, minute_us)
ON CONFLICT DO NOTHING
"""


def _us(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


@dataclasses.dataclass
class Validation:
    """A batch split into acceptable results and the rejected ones."""

    accepted: list[agent_pb2.CheckResult]
    # Readable reasons, the first MAX_REASONS of them.
    reasons: list[str]
    # One code per rejected result (see metrics.REJECT_REASONS).
    codes: list[str]


def validate(
    batch: agent_pb2.ResultBatch,
    region: str,
    monitors: Mapping[str, MonitorDef],
    now: dt.datetime,
) -> Validation:
    """Split a batch into acceptable results and reasons for the others.

    Besides the rules of the protocol, this keeps out every value that
    PostgreSQL would refuse (a real out of range, a timestamp before 1970),
    since one such row would fail the whole batch on every resend.
    """
    oldest_us = _us(now - MAX_AGE)
    newest_us = _us(now + MAX_FUTURE)
    accepted = []
    reasons: list[str] = []
    codes: list[str] = []
    for result in batch.results:
        rejection = _check(result, region, monitors, oldest_us, newest_us)
        if rejection is None:
            accepted.append(result)
        else:
            codes.append(rejection[0])
            if len(reasons) < MAX_REASONS:
                reasons.append(rejection[1])
    return Validation(accepted, reasons, codes)


def _check(
    result: agent_pb2.CheckResult,
    region: str,
    monitors: Mapping[str, MonitorDef],
    oldest_us: int,
    newest_us: int,
) -> tuple[str, str] | None:
    """Return (code, reason) when the result must be rejected."""
    monitor_id = result.monitor_id
    monitor = monitors.get(monitor_id)
    if monitor is None:
        return "unknown_monitor", f"unknown or paused monitor {monitor_id}"
    if region not in monitor.regions:
        return "wrong_region", f"monitor {monitor_id} is not checked in region {region}"
    if result.status not in (agent_pb2.CHECK_STATUS_UP, agent_pb2.CHECK_STATUS_DOWN):
        return "no_status", f"result for {monitor_id} has no status"
    scheduled_us = result.scheduled_at_us
    if scheduled_us < oldest_us:
        return "too_old", f"result for {monitor_id} is older than {MAX_AGE.days} days"
    if scheduled_us > newest_us:
        scheduled = dt.datetime.fromtimestamp(scheduled_us / 1_000_000, dt.UTC)
        return "in_future", f"result for {monitor_id} is in the future ({scheduled})"
    problem = _value_problem(result, oldest_us, newest_us)
    if problem is not None:
        return "invalid_value", f"result for {monitor_id} has {problem}"
    return None


def _value_problem(result: agent_pb2.CheckResult, oldest_us: int, newest_us: int) -> str | None:
    """Name a field whose value PostgreSQL or the rules would not accept."""
    started_us = result.started_at_us
    if started_us and not oldest_us <= started_us <= newest_us:
        return f"started_at_us {started_us}"
    if not 0 <= result.latency_ms <= MAX_LATENCY_MS:
        return f"latency {result.latency_ms}"
    if result.status_code > MAX_STATUS_CODE:
        return f"status code {result.status_code}"
    if not 0 <= result.cert_expires_at_us < MAX_CERT_EXPIRY_US:
        return f"cert_expires_at_us {result.cert_expires_at_us}"
    return _timing_problem(result)


def _timing_problem(result: agent_pb2.CheckResult) -> str | None:
    """Name a phase or loop lag that is not a finite number of milliseconds."""
    phases = result.phases
    for name, value in (
        ("loop_lag_ms", result.loop_lag_ms),
        ("dns_ms", phases.dns_ms),
        ("connect_ms", phases.connect_ms),
        ("tls_ms", phases.tls_ms),
        ("first_byte_ms", phases.first_byte_ms),
        ("transfer_ms", phases.transfer_ms),
    ):
        # NaN fails both comparisons, so it is reported too.
        if not -MAX_LATENCY_MS <= value <= MAX_LATENCY_MS:
            return f"{name} {value}"
    return None


class _HasDuplicates(Exception):
    """The COPY hit the unique key: some results of the batch are stored already."""


class Ingestor:
    """Writes result batches, with `rules` caching alert rules across batches.

    Without `rules` every batch reads the alert rules afresh, which suits
    callers that cannot tell when a monitor changes.
    """

    def __init__(self, pool: asyncpg.Pool, rules: MonitorRules | None = None) -> None:
        self.pool = pool
        self.rules = rules
        self.encoder = ResultEncoder()
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
        started = time.monotonic()
        batch = self.encoder.encode(results, region, agent_id)
        days = {row.scheduled_us // _US_PER_DAY for row in batch.rows}
        rules = self.rules if self.rules is not None else MonitorRules()
        async with self.pool.acquire() as connection:
            await self._ensure_partitions(connection, days)
            try:
                async with connection.transaction():
                    await self._copy(connection, batch)
                    new = batch.rows
                    transitions = await self._after_insert(connection, region, new, rules)
            except _HasDuplicates:
                async with connection.transaction():
                    new = await self._insert_new(connection, batch)
                    transitions = await self._after_insert(connection, region, new, rules)
        log.debug(
            "batch stored",
            extra={
                "agent_id": str(agent_id),
                "stored": len(new),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return len(new), transitions

    async def _copy(self, connection: asyncpg.Connection, batch: EncodedBatch) -> None:
        try:
            await connection.copy_to_table(
                "check_results",
                # A memoryview, because asyncpg would take bytes for a file path.
                source=memoryview(batch.data),
                columns=COLUMNS,
                format="binary",
            )
        except asyncpg.UniqueViolationError:
            raise _HasDuplicates from None

    async def _insert_new(
        self, connection: asyncpg.Connection, batch: EncodedBatch
    ) -> list[NewResult]:
        """Store the rows of `batch` that are not stored yet and return them."""
        await connection.execute(_STAGING_DDL)
        await connection.copy_to_table(
            "incoming_results", source=memoryview(batch.data), columns=COLUMNS, format="binary"
        )
        inserted = {(row[0], row[1]) for row in await connection.fetch(_INSERT_NEW_SQL)}
        new = []
        for row in batch.rows:
            key = (row.monitor_id, row.scheduled_us)
            # A key listed twice in the batch is stored, and counted, once.
            if key in inserted:
                inserted.discard(key)
                new.append(row)
        return new

    async def _after_insert(
        self,
        connection: asyncpg.Connection,
        region: str,
        rows: list[NewResult],
        rules: MonitorRules,
    ) -> list[Transition]:
        """Mark the rows' minutes for the rollup job and update region states."""
        if not rows:
            return []
        minutes = {
            (row.monitor_id, row.scheduled_us - row.scheduled_us % _US_PER_MINUTE) for row in rows
        }
        await connection.execute(
            _MARK_DIRTY_SQL,
            array_literal(monitor_id for monitor_id, _ in minutes),
            array_literal(minute_us for _, minute_us in minutes),
            region,
        )
        return await fold_results(connection, region, rows, rules)
