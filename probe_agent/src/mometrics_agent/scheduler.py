"""Runs each assigned check at a stable phase inside its interval.

A monitor's runs fall on the wall-clock grid `k * interval + phase`, where
the phase comes from a hash of the monitor id. Every region therefore checks
a monitor at nearly the same instant, load spreads evenly over the interval,
and a run's scheduled time is its identity: a resent result has the same one.
Waits are computed afresh from the clock for every run, so nothing drifts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import metrics
from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass
from mometrics_agent.looplag import LoopLagMonitor

log = logging.getLogger("mometrics.agent.scheduler")

# Loop lag above this makes timings unreliable; results are flagged.
LOW_CONFIDENCE_LAG_MS = 50.0

ResultSink = Callable[[agent_pb2.CheckResult], None]


def phase_us(monitor_id: str, interval_s: int) -> int:
    """Return the monitor's offset inside its interval, in microseconds.

    The offset is a whole number of milliseconds, and the same monitor id and
    interval give the same offset on every agent.
    """
    digest = hashlib.blake2b(monitor_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % (interval_s * 1000)) * 1000


def next_slot_us(after_us: int, interval_s: int, phase: int) -> int:
    """Return the first grid time `k * interval + phase` strictly after `after_us`.

    Times are Unix microseconds; integer arithmetic keeps every slot an exact
    grid point however many runs came before.
    """
    interval_us = interval_s * 1_000_000
    k = (after_us - phase) // interval_us + 1
    return k * interval_us + phase


def spec_from(assignment: agent_pb2.Assignment, allow_private: bool) -> CheckSpec:
    try:
        options = json.loads(assignment.options_json or "{}")
    except ValueError:
        options = {}
    return CheckSpec(
        monitor_id=assignment.monitor_id,
        kind=assignment.kind,
        target=assignment.target,
        interval_s=max(1, assignment.interval_s),
        timeout_s=assignment.timeout_s or 10.0,
        options=options if isinstance(options, dict) else {},
        monitor_version=assignment.monitor_version,
        is_private_blocked=not allow_private,
    )


class Scheduler:
    def __init__(
        self,
        sink: ResultSink,
        concurrency: int,
        allow_private: bool,
        lag: LoopLagMonitor,
    ) -> None:
        self.sink = sink
        self.allow_private = allow_private
        self.lag = lag
        self._semaphore = asyncio.Semaphore(concurrency)
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._specs: dict[str, CheckSpec] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self.overruns = 0

    @property
    def queue_depth(self) -> int:
        return len(self._running)

    def replace_all(self, assignments: list[agent_pb2.Assignment]) -> None:
        wanted = {a.monitor_id for a in assignments}
        for monitor_id in list(self._loops):
            if monitor_id not in wanted:
                self.remove(monitor_id)
        for assignment in assignments:
            self.upsert(assignment)

    def upsert(self, assignment: agent_pb2.Assignment) -> None:
        spec = spec_from(assignment, self.allow_private)
        if self._specs.get(spec.monitor_id) == spec:
            return
        self.remove(spec.monitor_id, keep_running=True)
        self._specs[spec.monitor_id] = spec
        self._loops[spec.monitor_id] = asyncio.create_task(
            self._loop(spec), name=f"monitor-{spec.monitor_id}"
        )
        metrics.ASSIGNED.set(len(self._specs))

    def remove(self, monitor_id: str, keep_running: bool = False) -> None:
        task = self._loops.pop(monitor_id, None)
        if task is not None:
            task.cancel()
        self._specs.pop(monitor_id, None)
        if not keep_running:
            running = self._running.pop(monitor_id, None)
            if running is not None:
                running.cancel()
        metrics.ASSIGNED.set(len(self._specs))

    async def _loop(self, spec: CheckSpec) -> None:
        phase = phase_us(spec.monitor_id, spec.interval_s)
        last_slot = 0
        while True:
            # The event loop may wake a timer a little early, and the wall
            # clock may step; never schedule the same slot twice.
            now_us = time.time_ns() // 1000
            slot = next_slot_us(max(now_us, last_slot), spec.interval_s, phase)
            last_slot = slot
            await asyncio.sleep(max(0.0, (slot - now_us) / 1_000_000))
            previous = self._running.get(spec.monitor_id)
            if previous is not None and not previous.done():
                self.overruns += 1
                metrics.OVERRUNS.inc()
                log.debug(
                    "run skipped; previous still running", extra={"monitor_id": spec.monitor_id}
                )
                continue
            self._running[spec.monitor_id] = asyncio.create_task(self._run(spec, slot))

    async def _run(self, spec: CheckSpec, slot_us: int) -> None:
        async with self._semaphore:
            started_us = time.time_ns() // 1000
            self.lag.reset_window()
            try:
                outcome = await run_check(spec)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a bug in a check must not stop the loop
                log.error(
                    "check crashed",
                    extra={"monitor_id": spec.monitor_id, "error": repr(err)},
                )
                outcome = CheckOutcome.failure(
                    ErrorClass.INTERNAL, f"agent error: {type(err).__name__}", 0.0
                )
            lag_ms = self.lag.window_max_ms()
        metrics.record_outcome(spec.kind, outcome)
        self.sink(to_result(spec, slot_us, started_us, outcome, lag_ms))
        if self._running.get(spec.monitor_id) is asyncio.current_task():
            del self._running[spec.monitor_id]

    async def run_once(self, assignment: agent_pb2.Assignment) -> agent_pb2.CheckResult:
        """Run one check now, outside the schedule, within the concurrency limit.

        The result goes back to the caller and never to the sink, so it is not
        spooled and counts in no uptime figure. Its scheduled time is its start.
        """
        spec = spec_from(assignment, self.allow_private)
        async with self._semaphore:
            started_us = time.time_ns() // 1000
            self.lag.reset_window()
            try:
                outcome = await run_check(spec)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a bug in a check must not end the stream
                log.error("one-off check crashed", extra={"kind": spec.kind, "error": repr(err)})
                outcome = CheckOutcome.failure(
                    ErrorClass.INTERNAL, f"agent error: {type(err).__name__}", 0.0
                )
            lag_ms = self.lag.window_max_ms()
        return to_result(spec, started_us, started_us, outcome, lag_ms)

    async def stop(self, grace_s: float) -> None:
        """Stop scheduling; give running checks up to `grace_s` to finish."""
        for task in self._loops.values():
            task.cancel()
        running = [t for t in self._running.values() if not t.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_s)
            for task in pending:
                task.cancel()
        self._loops.clear()


def to_result(
    spec: CheckSpec, slot_us: int, started_us: int, outcome: CheckOutcome, lag_ms: float
) -> agent_pb2.CheckResult:
    phases = outcome.phases
    return agent_pb2.CheckResult(
        monitor_id=spec.monitor_id,
        scheduled_at_us=slot_us,
        started_at_us=started_us,
        status=agent_pb2.CHECK_STATUS_UP if outcome.is_up else agent_pb2.CHECK_STATUS_DOWN,
        latency_ms=outcome.latency_ms,
        phases=agent_pb2.Phases(
            dns_ms=phases.dns_ms,
            connect_ms=phases.connect_ms,
            tls_ms=phases.tls_ms,
            first_byte_ms=phases.first_byte_ms,
            transfer_ms=phases.transfer_ms,
        ),
        status_code=outcome.status_code,
        error_class=str(outcome.error_class or ""),
        error_message=outcome.message[:1000],
        cert_expires_at_us=round((outcome.cert_expires_at or 0) * 1_000_000),
        loop_lag_ms=lag_ms,
        is_low_confidence=lag_ms > LOW_CONFIDENCE_LAG_MS,
        monitor_version=spec.monitor_version,
    )
