"""The scheduler: a stable phase per monitor on the wall-clock grid, overruns,
concurrency limits, and both times on every result.

Checks run against local HTTP targets for a few seconds of real time.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict

from mometrics.probe.v1 import agent_pb2
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import Scheduler, next_slot_us, phase_us
from tests.agent.runtime.harness import Target, wait_until

INTERVAL_US = 1_000_000


def assignment(monitor_id: str, url: str, timeout_s: float = 3.0) -> agent_pb2.Assignment:
    return agent_pb2.Assignment(
        monitor_id=monitor_id, kind="http", target=url, interval_s=1, timeout_s=timeout_s
    )


async def run_for(
    assignments: list[agent_pb2.Assignment], seconds: float, concurrency: int = 64
) -> tuple[Scheduler, list[agent_pb2.CheckResult]]:
    """Run one scheduler for `seconds` and return it with the results it produced."""
    results: list[agent_pb2.CheckResult] = []
    lag = LoopLagMonitor()
    lag.start()
    scheduler = Scheduler(results.append, concurrency, allow_private=True, lag=lag)
    scheduler.replace_all(assignments)
    await asyncio.sleep(seconds)
    await scheduler.stop(grace_s=5)
    await lag.stop()
    return scheduler, results


def by_monitor(results: list[agent_pb2.CheckResult]) -> dict[str, list[int]]:
    slots: dict[str, list[int]] = defaultdict(list)
    for result in results:
        slots[result.monitor_id].append(result.scheduled_at_us)
    return {monitor_id: sorted(values) for monitor_id, values in slots.items()}


def test_phase_stable_and_inside_interval() -> None:
    monitor_ids = [str(uuid.UUID(int=n)) for n in range(200)]
    for monitor_id in monitor_ids:
        phase = phase_us(monitor_id, 60)
        assert phase == phase_us(monitor_id, 60)
        assert 0 <= phase < 60_000_000
        assert phase % 1000 == 0
    # The phases spread over the interval rather than bunching up.
    seconds = {phase_us(monitor_id, 60) // 1_000_000 for monitor_id in monitor_ids}
    assert len(seconds) > 40


def test_next_slot_never_drifts() -> None:
    interval_s = 7
    phase = phase_us("2b0d3c7e-0000-4000-8000-000000000001", interval_s)
    slot = 1_700_000_000_123_456
    first = next_slot_us(slot, interval_s, phase)
    for _ in range(100_000):
        slot = next_slot_us(slot, interval_s, phase)
    assert slot == first + 99_999 * interval_s * 1_000_000
    assert (slot - phase) % (interval_s * 1_000_000) == 0


def test_next_slot_strictly_after() -> None:
    phase = 250_000
    on_grid = 10 * INTERVAL_US + phase
    assert next_slot_us(on_grid, 1, phase) == on_grid + INTERVAL_US
    assert next_slot_us(on_grid - 1, 1, phase) == on_grid


async def test_schedule_identical_across_agents(target: Target) -> None:
    monitor_ids = [str(uuid.uuid4()) for _ in range(5)]
    assignments = [assignment(monitor_id, target.url()) for monitor_id in monitor_ids]

    # Two agents (two schedulers) run the same monitors at the same time.
    (_, first), (_, second) = await asyncio.gather(
        run_for(assignments, 3.5), run_for(assignments, 3.5)
    )

    first_slots = by_monitor(first)
    second_slots = by_monitor(second)
    assert sorted(first_slots) == sorted(monitor_ids)
    assert first_slots == second_slots
    for monitor_id, slots in first_slots.items():
        phase = phase_us(monitor_id, 1)
        assert len(slots) >= 3
        for slot in slots:
            assert (slot - phase) % INTERVAL_US == 0
        # One run per slot, no slot skipped.
        gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
        assert gaps == [INTERVAL_US] * (len(slots) - 1)
    for result in first:
        assert result.status == agent_pb2.CHECK_STATUS_UP
        assert result.started_at_us >= result.scheduled_at_us


async def test_overrun_counted_when_check_outlasts_interval(target: Target) -> None:
    monitor_id = str(uuid.uuid4())

    # The target answers after 1.5 s and the interval is 1 s.
    scheduler, results = await run_for([assignment(monitor_id, target.url("/slow"))], 4.2)

    assert scheduler.overruns >= 1
    assert results
    slots = [r.scheduled_at_us for r in results]
    assert len(set(slots)) == len(slots)
    for result in results:
        assert result.status == agent_pb2.CHECK_STATUS_UP
        assert result.latency_ms >= 1500
        assert (result.scheduled_at_us - phase_us(monitor_id, 1)) % INTERVAL_US == 0


async def test_concurrency_bounded_and_start_time_real(target: Target) -> None:
    assignments = [assignment(str(uuid.uuid4()), target.url("/slow")) for _ in range(8)]

    scheduler, results = await run_for(assignments, 3.5, concurrency=2)

    assert target.max_active == 2
    assert results
    # Runs waiting for a free slot start later than scheduled, and say so.
    delays_us = [r.started_at_us - r.scheduled_at_us for r in results]
    assert min(delays_us) >= 0
    assert max(delays_us) >= 1_000_000
    assert scheduler.overruns >= 1


async def test_upsert_waits_for_running_check(target: Target) -> None:
    monitor_id = str(uuid.uuid4())
    results: list[agent_pb2.CheckResult] = []
    lag = LoopLagMonitor()
    lag.start()
    scheduler = Scheduler(results.append, 8, allow_private=True, lag=lag)
    # The target responds after 1.5 s and the interval is 1 s.
    scheduler.upsert(assignment(monitor_id, target.url("/slow")))

    async def in_flight() -> bool:
        return target.active == 1

    await wait_until(in_flight, 10, "the first run in flight")
    first_slot_count = target.requests

    # When the monitor changes while its check is running
    scheduler.upsert(assignment(monitor_id, target.url("/slow"), timeout_s=2.5))

    async def first_reported() -> bool:
        return len(results) >= 1

    await wait_until(first_reported, 10, "the first run's result")
    await scheduler.stop(grace_s=5)
    await lag.stop()

    # Then the old run reported, and the new version never ran beside it
    assert first_slot_count == 1
    assert target.max_active == 1
    assert scheduler.overruns >= 1
    assert scheduler.monitor_ids == [monitor_id]
    assert results[0].status == agent_pb2.CHECK_STATUS_UP


async def test_remove_cancels_running_check(target: Target) -> None:
    monitor_id = str(uuid.uuid4())
    results: list[agent_pb2.CheckResult] = []
    lag = LoopLagMonitor()
    lag.start()
    scheduler = Scheduler(results.append, 8, allow_private=True, lag=lag)
    scheduler.upsert(assignment(monitor_id, target.url("/slow")))

    async def in_flight() -> bool:
        return target.active == 1

    await wait_until(in_flight, 10, "a run in flight")

    # When the monitor is removed while its check is running
    scheduler.remove(monitor_id)
    await asyncio.sleep(2.0)  # longer than the target takes to respond
    await scheduler.stop(grace_s=1)
    await lag.stop()

    # Then that run reports nothing and no other run starts
    assert results == []
    assert scheduler.monitor_ids == []
    assert target.requests == 1
