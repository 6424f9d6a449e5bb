"""Durable on-disk spool of results waiting for the gateway's acknowledgement.

Results are written to SQLite in WAL mode before they are sent and deleted
only when the gateway acknowledges their batch, so a crash of the agent,
the gateway or the database loses nothing. A result is assigned to a batch
once; after a restart the same batch is sent again with the same id.

The spool has a size cap. Past it the oldest results are evicted and
counted; the count is reported in heartbeats and metrics.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from mometrics.probe.v1 import agent_pb2


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
