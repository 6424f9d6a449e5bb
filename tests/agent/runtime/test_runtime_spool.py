"""The on-disk spool: eviction at the cap, batches that survive a reopen."""

from __future__ import annotations

from pathlib import Path

from mometrics.probe.v1 import agent_pb2
from mometrics_agent.spool import Spool


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
