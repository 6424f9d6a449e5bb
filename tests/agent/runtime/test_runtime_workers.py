"""The worker pool: checks in worker processes, results back to the agent process.

Every test starts real `python -m mometrics_agent.worker` processes and runs
HTTP checks against a local target.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import ipc, metrics
from mometrics_agent.config import AgentSettings
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import phase_us
from mometrics_agent.workers import WorkerPool, shard_of
from tests.agent.runtime.harness import Target, wait_until

INTERVAL_US = 1_000_000
WORKERS = 2

StartPool = Callable[..., Awaitable["RunningPool"]]


def settings(tmp_path: Path, **extra: object) -> AgentSettings:
    values: dict[str, object] = {
        "gateway_address": "127.0.0.1:9",
        "agent_token": "mma_" + uuid.uuid4().hex + "_workertests",
        "agent_region": "test-region",
        "agent_spool_path": tmp_path / "spool.sqlite3",
        "agent_metrics_port": 0,
        "agent_workers": WORKERS,
        "allow_private_targets": True,
        **extra,
    }
    return AgentSettings(**values)  # type: ignore[arg-type]


def assignment(monitor_id: str, url: str, interval_s: int = 1) -> agent_pb2.Assignment:
    return agent_pb2.Assignment(
        monitor_id=monitor_id, kind="http", target=url, interval_s=interval_s, timeout_s=3.0
    )


def ids_on_every_worker(count_per_worker: int) -> list[str]:
    """Return monitor ids, `count_per_worker` of them for each worker."""
    chosen: dict[int, list[str]] = {index: [] for index in range(WORKERS)}
    while any(len(ids) < count_per_worker for ids in chosen.values()):
        monitor_id = str(uuid.uuid4())
        ids = chosen[shard_of(monitor_id, WORKERS)]
        if len(ids) < count_per_worker:
            ids.append(monitor_id)
    return [monitor_id for ids in chosen.values() for monitor_id in ids]


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def environment(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


class RunningPool:
    """A started WorkerPool and the results it handed over."""

    def __init__(self, pool: WorkerPool, results: list[agent_pb2.CheckResult]) -> None:
        self.pool = pool
        self.results = results

    def slots(self, monitor_id: str) -> list[int]:
        return sorted(r.scheduled_at_us for r in self.results if r.monitor_id == monitor_id)

    def worker_pids(self) -> list[int]:
        pids = []
        for worker in self.pool._workers:
            assert worker.process is not None
            pids.append(worker.process.pid)
        return pids


@pytest.fixture
async def start_pool(tmp_path: Path) -> AsyncIterator[StartPool]:
    lag = LoopLagMonitor()
    lag.start()
    started: list[WorkerPool] = []

    async def start(**extra: object) -> RunningPool:
        results: list[agent_pb2.CheckResult] = []
        pool = WorkerPool(results.append, settings(tmp_path, **extra), lag)
        await pool.start()
        started.append(pool)

        async def all_running() -> bool:
            return all(w.writer is not None for w in pool._workers)

        await wait_until(all_running, 20, "every worker to start")
        return RunningPool(pool, results)

    yield start
    for pool in started:
        await pool.stop(grace_s=1)
    await lag.stop()


async def test_pool_runs_monitors_on_every_worker(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()
    monitor_ids = ids_on_every_worker(2)
    checks_before = metrics.CHECKS.labels(kind="http", outcome="up")._value.get()

    running.pool.replace_all([assignment(m, target.url()) for m in monitor_ids])

    async def three_runs_each() -> bool:
        return all(len(running.slots(m)) >= 3 for m in monitor_ids)

    await wait_until(three_runs_each, 20, "three results of every monitor")
    assert sorted(running.pool.monitor_ids) == sorted(monitor_ids)
    for monitor_id in monitor_ids:
        slots = running.slots(monitor_id)
        assert all((slot - phase_us(monitor_id, 1)) % INTERVAL_US == 0 for slot in slots)
        assert len(set(slots)) == len(slots)
    for result in running.results:
        assert result.status == agent_pb2.CHECK_STATUS_UP
        assert result.started_at_us >= result.scheduled_at_us
        assert result.phases.connect_ms > 0
    # The agent process counts what the workers ran.
    checks_after = metrics.CHECKS.labels(kind="http", outcome="up")._value.get()
    assert checks_after - checks_before >= len(running.results)


async def test_pool_remove_stops_monitor(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()
    kept, removed = ids_on_every_worker(1)
    running.pool.replace_all([assignment(m, target.url()) for m in (kept, removed)])

    async def both_ran() -> bool:
        return bool(running.slots(kept)) and bool(running.slots(removed))

    await wait_until(both_ran, 20, "results of both monitors")

    # When the next snapshot no longer has one of them
    removed_at_us = time.time_ns() // 1000
    running.pool.replace_all([assignment(kept, target.url())])

    async def kept_ran_later() -> bool:
        return any(slot > removed_at_us + 3 * INTERVAL_US for slot in running.slots(kept))

    await wait_until(kept_ran_later, 15, "results of the kept monitor 3 s later")
    # Then the removed one has no slot after the removal reached its worker,
    # which takes less than an interval.
    assert all(slot < removed_at_us + INTERVAL_US for slot in running.slots(removed))
    assert running.pool.monitor_ids == [kept]


async def test_pool_restarts_killed_worker(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()
    monitor_ids = ids_on_every_worker(1)
    running.pool.replace_all([assignment(m, target.url()) for m in monitor_ids])

    async def all_ran() -> bool:
        return all(running.slots(m) for m in monitor_ids)

    await wait_until(all_ran, 20, "results of every monitor")
    restarts_before = metrics.WORKER_RESTARTS._value.get()
    killed_pid = running.worker_pids()[0]
    killed_monitor = next(m for m in monitor_ids if shard_of(m, WORKERS) == 0)

    # When worker 0 dies without warning
    os.kill(killed_pid, signal.SIGKILL)

    async def replaced() -> bool:
        process = running.pool._workers[0].process
        return (
            process is not None
            and process.pid != killed_pid
            and running.pool._workers[0].writer is not None
        )

    await wait_until(replaced, 20, "a new worker 0")
    count_after_restart = len(running.slots(killed_monitor))

    # Then the new worker runs the monitors of the old one
    async def resumed() -> bool:
        return len(running.slots(killed_monitor)) >= count_after_restart + 2

    await wait_until(resumed, 20, "results of the restarted worker's monitor")
    assert metrics.WORKER_RESTARTS._value.get() == restarts_before + 1


async def test_pool_stop_finishes_running_checks(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()
    monitor_ids = ids_on_every_worker(1)
    # The target responds to /slow after 1.5 s and the interval is 1 s, so
    # each monitor always has a check in flight.
    running.pool.replace_all([assignment(m, target.url("/slow")) for m in monitor_ids])

    async def both_in_flight() -> bool:
        return target.active == len(monitor_ids)

    await wait_until(both_in_flight, 20, "a check in flight on every worker")
    pids = running.worker_pids()

    # When the pool stops with a grace period longer than the checks
    await running.pool.stop(grace_s=10)

    # Then every check the target saw reported, and the workers exited
    assert target.active == 0
    assert len(running.results) == target.requests
    assert {r.monitor_id for r in running.results} == set(monitor_ids)
    assert all(r.status == agent_pb2.CHECK_STATUS_UP for r in running.results)
    for worker in running.pool._workers:
        assert worker.process is not None
        assert worker.process.returncode == 0
    for pid in pids:
        assert not process_exists(pid)


async def test_pool_counts_worker_overruns(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()
    [monitor_id] = ids_on_every_worker(1)[:1]

    # The target responds after 1.5 s and the interval is 1 s.
    running.pool.upsert(assignment(monitor_id, target.url("/slow")))

    async def overrun_reported() -> bool:
        return running.pool.overruns >= 1

    await wait_until(overrun_reported, 20, "an overrun reported by the worker")


async def test_pool_run_once_in_agent_process(start_pool: StartPool, target: Target) -> None:
    running = await start_pool()

    result = await running.pool.run_once(assignment("", target.url()))

    assert result.status == agent_pb2.CHECK_STATUS_UP
    assert result.scheduled_at_us == result.started_at_us
    assert result.phases.connect_ms > 0
    # A one-off check is never a scheduled result.
    assert running.results == []


async def test_worker_environment_has_no_token(
    start_pool: StartPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMETRICS_AGENT_TOKEN", "mma_" + "0" * 32 + "_mustnotleak")
    running = await start_pool()

    for pid in running.worker_pids():
        names = [item.partition(b"=")[0] for item in environment(pid)]
        assert b"MOMETRICS_AGENT_TOKEN" not in names


async def test_frames_round_trip_and_reject_garbage() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(ipc.encode(ipc.FrameKind.REMOVE, b"monitor-1"))
    reader.feed_data(ipc.encode(ipc.FrameKind.STOPPED))
    reader.feed_data(ipc.HEADER.pack(99, 0))
    reader.feed_data(ipc.HEADER.pack(ipc.FrameKind.RESULT, ipc.MAX_PAYLOAD_BYTES + 1))
    reader.feed_eof()

    assert await ipc.read_frame(reader) == (ipc.FrameKind.REMOVE, b"monitor-1")
    assert await ipc.read_frame(reader) == (ipc.FrameKind.STOPPED, b"")
    with pytest.raises(ipc.FrameError, match="unknown frame kind 99"):
        await ipc.read_frame(reader)
    with pytest.raises(ipc.FrameError, match="larger than"):
        await ipc.read_frame(reader)
    with pytest.raises(asyncio.IncompleteReadError):
        await ipc.read_frame(reader)
