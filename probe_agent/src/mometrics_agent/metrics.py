"""Prometheus metrics of the agent, served on /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from mometrics.probe.v1 import agent_pb2

if TYPE_CHECKING:
    from mometrics_agent.checks.base import CheckOutcome

CHECKS = Counter("mometrics_agent_checks_total", "Checks run", ["kind", "outcome"])
FAILURES = Counter("mometrics_agent_failures_total", "Failed checks by class", ["error_class"])
OVERRUNS = Counter(
    "mometrics_agent_overruns_total", "Runs skipped because the previous run was still going"
)
ASSIGNED = Gauge("mometrics_agent_assigned_monitors", "Monitors assigned to this agent")
SPOOL_SIZE = Gauge("mometrics_agent_spool_results", "Results in the spool awaiting ack")
SPOOL_EVICTED = Counter("mometrics_agent_spool_evicted_total", "Results evicted from a full spool")
STREAM_CONNECTED = Gauge("mometrics_agent_stream_connected", "1 while the gateway stream is up")
BATCHES_SENT = Counter(
    "mometrics_agent_batches_sent_total", "Result batches written to the stream, resends included"
)
RESULTS_SENT = Counter(
    "mometrics_agent_results_sent_total", "Results written to the stream, resends included"
)
RESULTS_DROPPED = Counter(
    "mometrics_agent_results_dropped_total", "Results lost because the spool could not store them"
)
RECONNECTS = Counter("mometrics_agent_reconnects_total", "Stream reconnect attempts")
LOOP_LAG = Histogram(
    "mometrics_agent_loop_lag_seconds",
    "Event-loop wake-up lag, of the worker processes too",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


WORKER_RESTARTS = Counter(
    "mometrics_agent_worker_restarts_total", "Worker processes started again after they exited"
)


def record_outcome(kind: str, outcome: CheckOutcome) -> None:
    CHECKS.labels(kind=kind, outcome="up" if outcome.is_up else "down").inc()
    if outcome.error_class is not None:
        FAILURES.labels(error_class=str(outcome.error_class)).inc()


def record_result(kind: str, result: agent_pb2.CheckResult) -> None:
    """Count a result that a worker process reported."""
    is_up = result.status == agent_pb2.CHECK_STATUS_UP
    CHECKS.labels(kind=kind, outcome="up" if is_up else "down").inc()
    if result.error_class:
        FAILURES.labels(error_class=result.error_class).inc()
