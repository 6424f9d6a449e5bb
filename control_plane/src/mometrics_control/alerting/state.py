"""Per-region verdicts of monitors, updated from newly stored results.

Runs inside the ingest transaction, so a region's state always matches the
results committed with it. Only rows that were new (not resent duplicates)
are passed in, so replays never count a failure twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import asyncpg

# Consecutive failures that turn a region down, and successes that turn it
# up again.
DOWN_AFTER = 2
UP_AFTER = 1


@dataclasses.dataclass(frozen=True)
class Transition:
    """A region of a monitor that changed state with this batch."""

    monitor_id: uuid.UUID
    region: str
    previous: str | None
    current: str
    at: dt.datetime


async def update_region_states(
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
