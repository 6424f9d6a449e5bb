"""Runs the assigned checks in worker processes, for agents with more than one CPU.

One Python process runs about 1,700 HTTP checks per CPU-second (measured
with bench/agent/run.py on a 2-CPU VM), and every millisecond its event
loop spends on something else delays the checks due then. ``WorkerPool``
starts ``MOMETRICS_AGENT_WORKERS`` worker processes (``python -m
mometrics_agent.worker``) and gives each monitor to one of them by a hash
of its id, so a monitor stays with the same worker. Each
worker has its own event loop and scheduler. The agent process keeps the
gateway stream, the spool and /metrics, and receives the results over a
Unix socket (see ``ipc``).

A worker that exits unexpectedly is logged, started again with backoff and
given its monitors again; the checks it was running are lost, as they
would be in a crash of a single-process agent. One-off checks (``run_once``)
run in the agent process itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import socket
import subprocess
import sys
import time
from typing import Any

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import ipc, metrics
from mometrics_agent.config import AgentSettings
from mometrics_agent.ipc import FrameKind
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import ResultSink, Scheduler

log = logging.getLogger("mometrics.agent.workers")

RESTART_DELAY_INITIAL_S = 0.5
RESTART_DELAY_MAX_S = 30.0
# A worker that ran this long resets the restart backoff.
STABLE_RUN_S = 60.0
# How long a stopping worker may take beyond the grace period for its checks.
STOP_MARGIN_S = 5.0
# Never passed on to workers, which do not talk to the gateway.
_SECRET_VARIABLES = ("MOMETRICS_AGENT_TOKEN",)


def shard_of(monitor_id: str, workers: int) -> int:
    """Return the index of the worker that runs ``monitor_id``, the same after restarts."""
    digest = hashlib.blake2b(monitor_id.encode(), digest_size=8, person=b"mm-shard").digest()
    return int.from_bytes(digest, "big") % workers


class _Worker:
    """State that the pool keeps about one worker process."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.writer: asyncio.StreamWriter | None = None
        # The worker's running total of overruns, from its latest STATS.
        self.overruns = 0
        self.running = 0

    def send(self, kind: FrameKind, payload: bytes = b"") -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(ipc.encode(kind, payload))


class WorkerPool:
    """Runs the assigned checks in worker processes, with the interface of ``Scheduler``."""

    def __init__(self, sink: ResultSink, settings: AgentSettings, lag: LoopLagMonitor) -> None:
        self.sink = sink
        self.settings = settings
        self.count = settings.agent_workers
        self.overruns = 0
        self._assignments: dict[str, agent_pb2.Assignment] = {}
        self._workers = [_Worker(index) for index in range(self.count)]
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        # Runs the one-off checks in this process. It has no monitors.
        self._local = Scheduler(
            sink, settings.agent_concurrency, settings.allow_private_targets, lag
        )

    @property
    def monitor_ids(self) -> list[str]:
        return list(self._assignments)

    @property
    def queue_depth(self) -> int:
        """Return the checks running now, as the workers last reported them."""
        return sum(worker.running for worker in self._workers) + self._local.queue_depth

    async def start(self) -> None:
        """Start the worker processes, each of them again whenever it exits."""
        for worker in self._workers:
            self._supervisors.append(
                asyncio.create_task(self._supervise(worker), name=f"worker-{worker.index}")
            )

    def replace_all(self, assignments: list[agent_pb2.Assignment]) -> None:
        assigned_ids = {a.monitor_id for a in assignments}
        for monitor_id in list(self._assignments):
            if monitor_id not in assigned_ids:
                self.remove(monitor_id)
        for assignment in assignments:
            self.upsert(assignment)

    def upsert(self, assignment: agent_pb2.Assignment) -> None:
        if self._assignments.get(assignment.monitor_id) == assignment:
            return
        self._assignments[assignment.monitor_id] = assignment
        worker = self._workers[shard_of(assignment.monitor_id, self.count)]
        worker.send(FrameKind.UPSERT, assignment.SerializeToString())
        metrics.ASSIGNED.set(len(self._assignments))

    def remove(self, monitor_id: str) -> None:
        if self._assignments.pop(monitor_id, None) is None:
            return
        worker = self._workers[shard_of(monitor_id, self.count)]
        worker.send(FrameKind.REMOVE, monitor_id.encode())
        metrics.ASSIGNED.set(len(self._assignments))

    async def run_once(self, assignment: agent_pb2.Assignment) -> agent_pb2.CheckResult:
        """Run one check now, in this process, as ``Scheduler.run_once`` does."""
        return await self._local.run_once(assignment)

    async def stop(self, grace_s: float) -> None:
        """Let each worker finish its running checks for up to ``grace_s``, then end it."""
        self._stopping.set()
        for worker in self._workers:
            worker.send(FrameKind.STOP, str(grace_s).encode())
        if self._supervisors:
            _, late = await asyncio.wait(self._supervisors, timeout=grace_s + STOP_MARGIN_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for worker in self._workers:
            if worker.process is not None and worker.process.returncode is None:
                log.warning("worker did not stop; killing it", extra={"worker": worker.index})
                worker.process.kill()
                await worker.process.wait()
        await self._local.stop(grace_s)

    async def _supervise(self, worker: _Worker) -> None:
        attempt = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await self._run_worker(worker)
            except OSError as err:
                log.error(
                    "worker could not start", extra={"worker": worker.index, "error": repr(err)}
                )
            if self._stopping.is_set():
                break
            if time.monotonic() - started > STABLE_RUN_S:
                attempt = 0
            delay = min(RESTART_DELAY_MAX_S, RESTART_DELAY_INITIAL_S * 2**attempt)
            attempt += 1
            metrics.WORKER_RESTARTS.inc()
            log.info(
                "restarting worker",
                extra={"worker": worker.index, "delay_s": delay, "attempt": attempt},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _run_worker(self, worker: _Worker) -> None:
        """Start one worker process, feed it and read it until it exits."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            worker.process = await asyncio.create_subprocess_exec(
                *self._command(worker, child.fileno()),
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                env={k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES},
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        process = worker.process
        try:
            reader, writer = await asyncio.open_unix_connection(sock=parent)
        except BaseException:
            parent.close()
            process.kill()
            await process.wait()
            raise
        worker.writer = writer
        worker.overruns = worker.running = 0
        log.info("worker started", extra={"worker": worker.index, "pid": process.pid})
        if self._stopping.is_set():
            # The pool began to stop while this worker was starting.
            worker.send(FrameKind.STOP, b"0")
        else:
            for assignment in self._assignments.values():
                if shard_of(assignment.monitor_id, self.count) == worker.index:
                    worker.send(FrameKind.UPSERT, assignment.SerializeToString())
        try:
            await self._read(worker, reader)
        finally:
            worker.writer = None
            writer.close()
            code = await process.wait()
        if self._stopping.is_set():
            log.info("worker stopped", extra={"worker": worker.index, "exit_code": code})
        else:
            log.error(
                "worker exited unexpectedly",
                extra={"worker": worker.index, "pid": process.pid, "exit_code": code},
            )

    def _command(self, worker: _Worker, fd: int) -> list[str]:
        settings = self.settings
        command = [
            sys.executable,
            "-m",
            "mometrics_agent.worker",
            f"--fd={fd}",
            f"--index={worker.index}",
            f"--concurrency={math.ceil(settings.agent_concurrency / self.count)}",
            f"--event-loop={settings.agent_event_loop}",
            f"--log-level={logging.getLogger().getEffectiveLevel()}",
        ]
        if settings.allow_private_targets:
            command.append("--allow-private")
        return command

    async def _read(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                kind, payload = await ipc.read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except ipc.FrameError as err:
                log.error(
                    "invalid frame from worker; ending it",
                    extra={"worker": worker.index, "error": str(err)},
                )
                if worker.process is not None:
                    worker.process.kill()
                return
            if kind is FrameKind.RESULT:
                self._on_result(agent_pb2.CheckResult.FromString(payload))
            elif kind is FrameKind.STATS:
                self._on_stats(worker, json.loads(payload))
            elif kind is FrameKind.STOPPED:
                log.debug("worker finished its checks", extra={"worker": worker.index})
            else:
                log.warning(
                    "unexpected frame from worker ignored",
                    extra={"worker": worker.index, "kind": kind.name},
                )

    def _on_result(self, result: agent_pb2.CheckResult) -> None:
        assignment = self._assignments.get(result.monitor_id)
        if assignment is not None:
            metrics.record_result(assignment.kind, result)
        self.sink(result)

    def _on_stats(self, worker: _Worker, stats: dict[str, Any]) -> None:
        overruns = int(stats.get("overruns", 0))
        new_overruns = max(0, overruns - worker.overruns)
        worker.overruns = overruns
        worker.running = int(stats.get("running", 0))
        if new_overruns:
            self.overruns += new_overruns
            metrics.OVERRUNS.inc(new_overruns)
        for lag_ms in stats.get("loop_lag_ms", []):
            metrics.LOOP_LAG.observe(float(lag_ms) / 1000)
