"""Counts of what a drill sent, stored, lost and duplicated, and where they go.

A monitor's runs fall on the grid `k * interval + phase` (see the agent's
scheduler), so the slots a monitor should have between two instants are
known exactly. A drill compares three sets over that window:

- expected: every grid slot from the monitor's first stored result on;
- run: the slots the load target saw a request for (one key per monitor);
- stored: the rows in `check_results`.

Lost is expected minus stored. Duplicated counts a slot run more than once
plus a slot stored more than once (the primary key should make that zero).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import asyncpg

from mometrics_agent.scheduler import phase_us
from tests.drills.servers import LoadTarget

# `make drill` sets these: the full forms of the drills, and the JSON file
# the report generator reads.
IS_FULL = os.environ.get("MOMETRICS_DRILL_FULL", "") == "1"
RESULTS_PATH = os.environ.get("MOMETRICS_DRILL_RESULTS", "")


def scaled(bounded: int, full: int) -> int:
    """Return the full value under `make drill`, the bounded one in `make test`."""
    return full if IS_FULL else bounded


def now_us() -> int:
    return time.time_ns() // 1000


@dataclasses.dataclass(frozen=True)
class WatchedMonitor:
    key: str
    monitor_id: str
    region: str
    interval_s: int


@dataclasses.dataclass
class Figures:
    monitors: int
    slots_expected: int
    checks_run: int
    results_stored: int
    lost: int
    duplicated_runs: int
    duplicated_rows: int
    lost_examples: list[str]

    @property
    def duplicated(self) -> int:
        return self.duplicated_runs + self.duplicated_rows


def grid(start_us: int, end_us: int, interval_s: int, phase: int) -> list[int]:
    """Return the grid slots in [start_us, end_us]."""
    interval_us = interval_s * 1_000_000
    k = -((phase - start_us) // interval_us)  # ceil((start - phase) / interval)
    slots = []
    slot = k * interval_us + phase
    while slot <= end_us:
        slots.append(slot)
        slot += interval_us
    return slots


def slot_of(hit_us: int, interval_s: int, phase: int) -> int:
    """Return the slot a request belongs to: the last grid point at or before it."""
    interval_us = interval_s * 1_000_000
    return ((hit_us - phase) // interval_us) * interval_us + phase


class Ledger:
    """The figures of one drill, read from the database and the load target."""

    def __init__(self, database_url: str, target: LoadTarget) -> None:
        self.database_url = database_url
        self.target = target
        self.monitors: list[WatchedMonitor] = []

    def watch(self, key: str, monitor_id: str, region: str, interval_s: int) -> None:
        self.monitors.append(WatchedMonitor(key, monitor_id, region, interval_s))

    async def stored_slots(self) -> dict[tuple[str, str], list[int]]:
        connection = await asyncpg.connect(self.database_url)
        try:
            rows = await connection.fetch(
                "SELECT monitor_id::text AS monitor_id, region, "
                "(extract(epoch FROM scheduled_at) * 1000000)::bigint AS slot_us "
                "FROM check_results"
            )
        finally:
            await connection.close()
        slots: dict[tuple[str, str], list[int]] = {}
        for row in rows:
            slots.setdefault((row["monitor_id"], row["region"]), []).append(row["slot_us"])
        return slots

    async def every_monitor_stored(self) -> bool:
        slots = await self.stored_slots()
        return all((m.monitor_id, m.region) in slots for m in self.monitors)

    async def figures(self, end_us: int) -> Figures:
        """Compare expected, run and stored slots up to `end_us`."""
        stored_by_monitor = await self.stored_slots()
        totals = dict.fromkeys(("expected", "run", "stored", "lost", "runs", "rows"), 0)
        examples: list[str] = []
        for monitor in self.monitors:
            stored = stored_by_monitor.get((monitor.monitor_id, monitor.region), [])
            if not stored:
                raise AssertionError(f"monitor {monitor.key} has no stored result at all")
            phase = phase_us(monitor.monitor_id, monitor.interval_s)
            start_us = min(stored)
            expected = set(grid(start_us, end_us, monitor.interval_s, phase))
            hits = [
                slot_of(hit, monitor.interval_s, phase)
                for hit in list(self.target.hits.get(monitor.key, []))
            ]
            runs = [slot for slot in hits if start_us <= slot <= end_us]
            rows = [slot for slot in stored if slot <= end_us]
            missing = sorted(expected - set(rows))
            totals["expected"] += len(expected)
            totals["run"] += len(set(runs))
            totals["stored"] += len(set(rows))
            totals["lost"] += len(missing)
            totals["runs"] += len(runs) - len(set(runs))
            totals["rows"] += len(rows) - len(set(rows))
            examples += [f"{monitor.key}@{slot}" for slot in missing[:3]]
        return Figures(
            monitors=len(self.monitors),
            slots_expected=totals["expected"],
            checks_run=totals["run"],
            results_stored=totals["stored"],
            lost=totals["lost"],
            duplicated_runs=totals["runs"],
            duplicated_rows=totals["rows"],
            lost_examples=examples[:10],
        )

    async def settled_figures(self, end_us: int, timeout_s: float) -> Figures:
        """Return the figures once nothing is missing, or as they are at the timeout.

        Results spooled during a fault arrive some seconds after it ends (an
        unacknowledged batch is resent after the agent's ack timeout), so
        the drill waits for them before it counts.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            figures = await self.figures(end_us)
            if figures.lost == 0 or time.monotonic() > deadline:
                return figures
            await _sleep(1.0)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def record(drill: str, entry: dict[str, Any]) -> None:
    """Add one drill's figures to the results file that `make drill` reads."""
    entry = {"drill": drill, "form": "full" if IS_FULL else "bounded", **entry}
    if not RESULTS_PATH:
        return
    path = Path(RESULTS_PATH)
    results = json.loads(path.read_text()) if path.exists() else {"drills": []}
    results["drills"] = [d for d in results["drills"] if d["drill"] != drill] + [entry]
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def figures_entry(figures: Figures) -> dict[str, Any]:
    return {
        "slots_expected": figures.slots_expected,
        "checks_run": figures.checks_run,
        "results_stored": figures.results_stored,
        "lost": figures.lost,
        "duplicated": figures.duplicated,
        "duplicated_runs": figures.duplicated_runs,
        "duplicated_rows": figures.duplicated_rows,
    }
