"""Result batches on an agent stream: validate, store, acknowledge.

A batch is acknowledged only after its commit. State changes go to the
alerting jobs from a background task, so a slow Redis never holds up the
next batch of the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

import asyncpg

from mometrics.probe.v1 import agent_pb2
from mometrics_control.alerting.state import Transition
from mometrics_control.gateway.assignment import MonitorDef
from mometrics_control.gateway.ingest import Ingestor, validate
from mometrics_control.gateway.metrics import GatewayMetrics
from mometrics_control.gateway.session import AgentSession

log = logging.getLogger("mometrics.gateway")

# A batch not committed within this time is left unacknowledged, so the
# agent sends it again.
INGEST_TIMEOUT_S = 20.0

TransitionSink = Callable[[list[Transition]], Awaitable[None]]


class TransitionDispatcher:
    """Hands transitions to a sink from a background task, merged across batches."""

    def __init__(self, sink: TransitionSink) -> None:
        self.sink = sink
        self._pending: list[Transition] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-transitions")

    def submit(self, transitions: list[Transition]) -> None:
        self._pending.extend(transitions)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            await self.sink(pending)
        except Exception as err:  # noqa: BLE001 - the scheduler re-evaluates open states
            log.warning(
                "transitions not handed to alerting",
                extra={"transitions": len(pending), "error": repr(err)},
            )

    async def stop(self) -> None:
        """Stop the task, then hand over what is still pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()


class BatchHandler:
    def __init__(
        self,
        ingestor: Ingestor,
        metrics: GatewayMetrics,
        max_batch_results: int,
        transitions: TransitionDispatcher | None,
    ) -> None:
        self.ingestor = ingestor
        self.metrics = metrics
        self.max_batch_results = max_batch_results
        self.transitions = transitions

    async def handle(
        self,
        session: AgentSession,
        batch: agent_pb2.ResultBatch,
        monitors: Mapping[str, MonitorDef],
    ) -> None:
        """Store the batch and acknowledge it, or leave it unacknowledged on failure."""
        metrics = self.metrics
        count = len(batch.results)
        metrics.results_received.inc(count)
        ack = agent_pb2.BatchAck(batch_id=batch.batch_id)
        if count > self.max_batch_results:
            ack.outcome = agent_pb2.BatchAck.OUTCOME_REJECTED
            ack.reasons.append(
                f"batch of {count} results exceeds the limit of {self.max_batch_results}"
            )
            ack.rejected_count = count
            session.send(agent_pb2.ControlMessage(ack=ack))
            metrics.results_rejected.labels(reason="oversize_batch").inc(count)
            metrics.acks.labels(outcome="rejected").inc()
            log.warning(
                "oversize batch rejected",
                extra={"agent_id": session.agent_id, "batch_id": batch.batch_id},
            )
            return

        checked = validate(batch, session.region, monitors, dt.datetime.now(dt.UTC))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(INGEST_TIMEOUT_S):
                stored, transitions = await self.ingestor.store(
                    uuid.UUID(session.agent_id), session.region, checked.accepted
                )
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as err:
            # No acknowledgement: the agent keeps the batch and sends it again.
            metrics.batches_failed.inc()
            log.warning(
                "batch not stored; agent will resend",
                extra={
                    "agent_id": session.agent_id,
                    "batch_id": batch.batch_id,
                    "error": repr(err),
                },
            )
            return
        metrics.batch_commit_seconds.observe(time.perf_counter() - started)
        metrics.results_stored.inc(stored)
        metrics.results_duplicate.inc(len(checked.accepted) - stored)
        metrics.count_rejected(checked.codes)

        ack.outcome = agent_pb2.BatchAck.OUTCOME_STORED
        ack.stored_count = stored
        ack.rejected_count = len(checked.codes)
        ack.reasons.extend(checked.reasons)
        session.send(agent_pb2.ControlMessage(ack=ack))
        metrics.acks.labels(outcome="stored").inc()
        if checked.codes:
            log.warning(
                "results rejected",
                extra={
                    "agent_id": session.agent_id,
                    "batch_id": batch.batch_id,
                    "rejected": ack.rejected_count,
                    "reason": checked.reasons[0],
                },
            )
        if transitions and self.transitions is not None:
            self.transitions.submit(transitions)
