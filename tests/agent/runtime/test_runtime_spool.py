"""The on-disk spool: eviction at the cap, batches that survive a reopen, and
the event loop's wrapper that writes on a thread of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import metrics
from mometrics_agent.spool import AsyncSpool, Spool


def result(scheduled_at_us: int) -> agent_pb2.CheckResult:
    return agent_pb2.CheckResult(
        monitor_id="m", scheduled_at_us=scheduled_at_us, status=agent_pb2.CHECK_STATUS_UP
    )


def slots(batch: agent_pb2.ResultBatch) -> list[int]:
    return [r.scheduled_at_us for r in batch.results]


def test_spool_cap_evicts_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_results=5)
    for slot in range(1, 9):
        spool.add([result(slot)])

    assert spool.size == 5
    assert spool.evicted == 3
    assert spool.unbatched_count() == 5
    batch_id = spool.form_batch(100)
    assert batch_id is not None
    assert slots(spool.load_batch(batch_id)) == [4, 5, 6, 7, 8]
    spool.close()


def test_spool_cap_evicts_batched_results_too(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_results=4)
    spool.add([result(slot) for slot in (1, 2, 3)])
    first = spool.form_batch(2)
    assert first is not None

    spool.add([result(slot) for slot in (4, 5, 6)])

    assert spool.size == 4
    assert spool.evicted == 2
    # The batch lost both of its results, so only the unbatched ones remain.
    assert spool.pending_batches() == []
    assert spool.unbatched_count() == 4
    assert spool.acknowledge(first) == 0
    assert spool.size == 4
    spool.close()


def test_spool_batch_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path, max_results=1000)
    spool.add([result(slot) for slot in range(10)])
    batch_id = spool.form_batch(6)
    assert batch_id is not None
    spool.close()

    reopened = Spool(path, max_results=1000)

    assert reopened.size == 10
    assert reopened.pending_batches() == [batch_id]
    assert slots(reopened.load_batch(batch_id)) == list(range(6))
    assert reopened.unbatched_count() == 4
    assert reopened.acknowledge(batch_id) == 6
    assert reopened.size == 4
    second = reopened.form_batch(100)
    assert second is not None
    assert second != batch_id
    assert slots(reopened.load_batch(second)) == list(range(6, 10))
    assert reopened.unbatched_count() == 0
    reopened.close()


def test_spool_form_batch_empty_returns_none(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_results=1000)
    assert spool.form_batch(10) is None
    spool.close()


async def test_async_spool_stores_in_order_and_notifies(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    notified = asyncio.Event()
    spool = AsyncSpool(path, max_results=1000, on_stored=notified.set)

    for slot in range(1, 101):
        spool.add(result(slot))
    await spool.flush()

    assert notified.is_set()
    assert spool.size == 100
    assert spool.unbatched_count() == 100
    batch_id = await spool.form_batch(60)
    assert batch_id is not None
    assert await spool.pending_batches() == [batch_id]
    assert slots(await spool.load_batch(batch_id)) == list(range(1, 61))
    assert await spool.acknowledge(batch_id) == 60
    assert spool.size == 40
    await spool.close()


async def test_async_spool_close_stores_queued_results(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = AsyncSpool(path, max_results=1000)

    # When results are queued and the spool closes at once
    for slot in range(1, 51):
        spool.add(result(slot))
    await spool.close()

    # Then a new spool on the same file has every one of them, in order
    reopened = Spool(path, max_results=1000)
    assert reopened.size == 50
    batch_id = reopened.form_batch(100)
    assert batch_id is not None
    assert slots(reopened.load_batch(batch_id)) == list(range(1, 51))
    reopened.close()


async def test_async_spool_counts_evictions(tmp_path: Path) -> None:
    spool = AsyncSpool(tmp_path / "spool.sqlite3", max_results=1000)
    evicted_before = metrics.SPOOL_EVICTED._value.get()

    for slot in range(1, 1011):
        spool.add(result(slot))
    await spool.flush()

    assert spool.size == 1000
    assert spool.evicted == 10
    assert metrics.SPOOL_EVICTED._value.get() - evicted_before == 10
    await spool.close()
