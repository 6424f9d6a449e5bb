"""Durable on-disk spool of results waiting for the gateway's acknowledgement.

Results are written to SQLite in WAL mode before they are sent and deleted
only when the gateway acknowledges their batch, so a crash of the agent,
the gateway or the database loses nothing. A result is assigned to a batch
once; after a restart the same batch is sent again with the same id.

The spool has a size cap. Past it the oldest results are evicted and
counted; the count is reported in heartbeats and metrics.

``Spool`` is the SQLite store and blocks. ``AsyncSpool`` is what the agent's
event loop uses: every SQLite call runs on one dedicated thread, in the order
made, and new results are written in batches, one transaction per batch, so
commits and WAL checkpoints never stall the checks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import metrics

log = logging.getLogger("mometrics.agent.spool")

T = TypeVar("T")


class Spool:
    def __init__(self, path: Path, max_results: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_results = max_results
        self.evicted = 0
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps every commit across a crash of the agent
        # (kill -9 included) without an fsync per commit.
        # NOTE: after a power loss or kernel crash the last commits before
        # the most recent checkpoint can be lost; FULL would close that gap
        # at the cost of one fsync per stored result.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " batch_id TEXT,"
            " payload BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS results_batch ON results (batch_id)")
        self._size = self._db.execute("SELECT count(*) FROM results").fetchone()[0]
        self._unbatched = self._count_unbatched()

    @property
    def size(self) -> int:
        return int(self._size)

    def add(self, results: list[agent_pb2.CheckResult]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT INTO results (payload) VALUES (?)",
                [(result.SerializeToString(),) for result in results],
            )
            self._size += len(results)
            self._unbatched += len(results)
            overflow = self._size - self.max_results
            if overflow > 0:
                # Oldest first, whether or not the result is in a batch already.
                self._db.execute(
                    "DELETE FROM results WHERE id IN (SELECT id FROM results ORDER BY id LIMIT ?)",
                    (overflow,),
                )
                self._size -= overflow
                self.evicted += overflow
                self._unbatched = self._count_unbatched()

    def pending_batches(self) -> list[str]:
        """Return ids of batches already formed and not yet acknowledged."""
        rows = self._db.execute(
            "SELECT batch_id FROM results WHERE batch_id IS NOT NULL "
            "GROUP BY batch_id ORDER BY min(id)"
        )
        return [row[0] for row in rows]

    def form_batch(self, max_results: int) -> str | None:
        """Put up to `max_results` unbatched results into a new batch."""
        batch_id = uuid.uuid4().hex
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE results SET batch_id = ? WHERE id IN "
                "(SELECT id FROM results WHERE batch_id IS NULL ORDER BY id LIMIT ?)",
                (batch_id, max_results),
            )
        self._unbatched -= cursor.rowcount
        return batch_id if cursor.rowcount > 0 else None

    def load_batch(self, batch_id: str) -> agent_pb2.ResultBatch:
        batch = agent_pb2.ResultBatch(batch_id=batch_id)
        for (payload,) in self._db.execute(
            "SELECT payload FROM results WHERE batch_id = ? ORDER BY id", (batch_id,)
        ):
            batch.results.add().ParseFromString(payload)
        return batch

    def acknowledge(self, batch_id: str) -> int:
        with self._transaction():
            cursor = self._db.execute("DELETE FROM results WHERE batch_id = ?", (batch_id,))
            self._size -= cursor.rowcount
        return cursor.rowcount

    def unbatched_count(self) -> int:
        """Return the number of results not yet put into a batch."""
        return self._unbatched

    def _count_unbatched(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM results WHERE batch_id IS NULL").fetchone()[0]
        )

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class AsyncSpool:
    """The spool for an event loop: SQLite work runs on one thread of its own.

    ``add`` only queues a result. The thread stores everything queued in one
    transaction and then calls ``on_stored`` in the event loop. The other
    methods are coroutines that wait for the thread. The counters (``size``,
    ``evicted``, ``unbatched_count``) cover stored results, not queued ones.

    NOTE: a result waits in memory for as long as one write takes, a few
    milliseconds. A kill -9 in that window loses it, as it loses the checks
    still running. ``close`` stores everything queued.
    """

    def __init__(
        self,
        path: Path,
        max_results: int,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._spool = Spool(path, max_results)
        self._on_stored = on_stored
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="mometrics-spool"
        )
        self._lock = threading.Lock()
        self._queued: list[agent_pb2.CheckResult] = []
        self._is_flush_due = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def size(self) -> int:
        return self._spool.size

    @property
    def evicted(self) -> int:
        return self._spool.evicted

    def unbatched_count(self) -> int:
        """Return the number of stored results not yet put into a batch."""
        return self._spool.unbatched_count()

    def add(self, result: agent_pb2.CheckResult) -> None:
        """Queue a result for the spool thread. Call it from the event loop."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            self._queued.append(result)
            is_first = not self._is_flush_due
            self._is_flush_due = True
        if is_first:
            self._executor.submit(self._flush)

    def _flush(self) -> None:
        """Store everything queued in one transaction, on the spool thread."""
        with self._lock:
            results, self._queued = self._queued, []
            self._is_flush_due = False
        if not results:
            return
        evicted_before = self._spool.evicted
        try:
            self._spool.add(results)
        except sqlite3.Error as err:
            # A full or broken disk: the results are lost, but checks go on.
            metrics.RESULTS_DROPPED.inc(len(results))
            log.error(
                "results not spooled; they are lost",
                extra={"results": len(results), "error": repr(err)},
            )
            return
        evicted = self._spool.evicted - evicted_before
        if evicted:
            metrics.SPOOL_EVICTED.inc(evicted)
            log.warning("spool full; oldest results evicted", extra={"evicted": evicted})
        metrics.SPOOL_SIZE.set(self._spool.size)
        if self._on_stored is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_stored)

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    async def pending_batches(self) -> list[str]:
        """Return ids of batches already formed and not yet acknowledged."""
        return await self._call(self._spool.pending_batches)

    async def form_batch(self, max_results: int) -> str | None:
        """Put up to `max_results` unbatched results into a new batch."""
        return await self._call(self._spool.form_batch, max_results)

    async def load_batch(self, batch_id: str) -> agent_pb2.ResultBatch:
        return await self._call(self._spool.load_batch, batch_id)

    async def acknowledge(self, batch_id: str) -> int:
        removed = await self._call(self._spool.acknowledge, batch_id)
        metrics.SPOOL_SIZE.set(self._spool.size)
        return removed

    async def flush(self) -> None:
        """Return once every result queued so far is stored."""
        await self._call(self._flush)

    async def close(self) -> None:
        """Store what is queued, then close the database and the thread."""
        await self.flush()
        await self._call(self._spool.close)
        self._executor.shutdown(wait=True)
