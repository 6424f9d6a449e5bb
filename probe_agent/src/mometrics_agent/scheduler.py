"""Runs each assigned check at a stable phase inside its interval.

A monitor's runs fall on the wall-clock grid `k * interval + phase`, where
the phase comes from a hash of the monitor id. Every region therefore checks
a monitor at nearly the same instant, load spreads evenly over the interval,
and a run's scheduled time is its identity: a resent result has the same one.
Waits are computed afresh from the clock for every run, so nothing drifts.

Each monitor has one event-loop timer (``loop.call_at`` on the loop's
monotonic clock), not a sleeping task, which keeps 10,000 monitors cheap in
memory. A run gets its own task when its timer fires, and the timer for the
next slot is set at the same moment, so a slow run never shifts the grid.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import checks, metrics
from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass
from mometrics_agent.looplag import LoopLagMonitor

log = logging.getLogger("mometrics.agent.scheduler")

# Loop lag above this makes timings unreliable; results are flagged.
LOW_CONFIDENCE_LAG_MS = 50.0

ResultSink = Callable[[agent_pb2.CheckResult], None]


class CheckScheduler(Protocol):
    """The interface that the stream client uses to run the assigned checks.

    ``Scheduler`` runs them in this process, ``workers.WorkerPool`` in
    worker processes.
    """

    overruns: int

    @property
    def queue_depth(self) -> int: ...

    @property
    def monitor_ids(self) -> list[str]: ...

    def replace_all(self, assignments: list[agent_pb2.Assignment]) -> None: ...

    def upsert(self, assignment: agent_pb2.Assignment) -> None: ...

    def remove(self, monitor_id: str) -> None: ...

    async def run_once(self, assignment: agent_pb2.Assignment) -> agent_pb2.CheckResult: ...

    async def stop(self, grace_s: float) -> None: ...


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


@dataclasses.dataclass(slots=True, eq=False)
class _Monitor:
    """Schedule state of one assigned monitor."""

    spec: CheckSpec
    phase_us: int
    # The most recent slot that came due. Later timers are set only after it,
    # so no slot runs twice, even across an upsert.
    last_due_slot_us: int = 0
    timer: asyncio.TimerHandle | None = None
    running: asyncio.Task[None] | None = None


class Scheduler:
    """Runs the assigned checks in this process, each at its slots."""

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
        self._monitors: dict[str, _Monitor] = {}
        self._is_stopped = False
        self.overruns = 0

    @property
    def monitor_ids(self) -> list[str]:
        return list(self._monitors)

    @property
    def queue_depth(self) -> int:
        """Return the number of scheduled runs started and not finished."""
        return sum(
            1
            for monitor in self._monitors.values()
            if monitor.running is not None and not monitor.running.done()
        )

    def replace_all(self, assignments: list[agent_pb2.Assignment]) -> None:
        wanted = {a.monitor_id for a in assignments}
        for monitor_id in list(self._monitors):
            if monitor_id not in wanted:
                self.remove(monitor_id)
        for assignment in assignments:
            self.upsert(assignment)

    def upsert(self, assignment: agent_pb2.Assignment) -> None:
        spec = spec_from(assignment, self.allow_private)
        previous = self._monitors.get(spec.monitor_id)
        if previous is not None and previous.spec == spec:
            return
        checks.preload(spec.kind)
        monitor = _Monitor(spec, phase_us(spec.monitor_id, spec.interval_s))
        if previous is not None:
            # A run of the old version finishes and reports. The new version
            # waits for it as for its own previous run.
            self.remove(spec.monitor_id, keep_running=True)
            monitor.running = previous.running
            monitor.last_due_slot_us = previous.last_due_slot_us
        self._monitors[spec.monitor_id] = monitor
        if not self._is_stopped:
            self._arm(monitor)
        metrics.ASSIGNED.set(len(self._monitors))

    def remove(self, monitor_id: str, keep_running: bool = False) -> None:
        monitor = self._monitors.pop(monitor_id, None)
        if monitor is not None:
            if monitor.timer is not None:
                monitor.timer.cancel()
            if monitor.running is not None and not keep_running:
                monitor.running.cancel()
        metrics.ASSIGNED.set(len(self._monitors))

    def _arm(self, monitor: _Monitor) -> None:
        """Set the monitor's timer for its next slot after now."""
        now_us = time.time_ns() // 1000
        slot_us = next_slot_us(
            max(now_us, monitor.last_due_slot_us), monitor.spec.interval_s, monitor.phase_us
        )
        self._set_timer(monitor, slot_us, now_us)

    def _set_timer(self, monitor: _Monitor, slot_us: int, now_us: int) -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + (slot_us - now_us) / 1_000_000
        monitor.timer = loop.call_at(when, self._fire, monitor, slot_us)

    def _fire(self, monitor: _Monitor, slot_us: int) -> None:
        now_us = time.time_ns() // 1000
        if now_us < slot_us:
            # Timers have millisecond granularity in uvloop, and the wall
            # clock may have been stepped back. A run never starts early.
            self._set_timer(monitor, slot_us, now_us)
            return
        monitor.last_due_slot_us = slot_us
        self._arm(monitor)
        if monitor.running is not None and not monitor.running.done():
            self.overruns += 1
            metrics.OVERRUNS.inc()
            log.debug(
                "run skipped; previous still running", extra={"monitor_id": monitor.spec.monitor_id}
            )
            return
        monitor.running = asyncio.get_running_loop().create_task(self._run(monitor, slot_us))

    async def _run(self, monitor: _Monitor, slot_us: int) -> None:
        spec = monitor.spec
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
        this_run = asyncio.current_task()
        for owner in (monitor, self._monitors.get(spec.monitor_id)):
            if owner is not None and owner.running is this_run:
                owner.running = None

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
        self._is_stopped = True
        running: list[asyncio.Task[None]] = []
        for monitor in self._monitors.values():
            if monitor.timer is not None:
                monitor.timer.cancel()
            if monitor.running is not None and not monitor.running.done():
                running.append(monitor.running)
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_s)
            for task in pending:
                task.cancel()


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
