"""Prometheus metrics of one gateway process, served on /metrics.

Each GatewayMetrics has a registry of its own, so several gateways in one
process (as in the tests) keep separate figures. Counters are updated as
batches and assignments flow. The gauges of agents and coverage are read
from the gateway's state when a scrape arrives.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from mometrics_control.gateway.assignment import MonitorDef

log = logging.getLogger("mometrics.gateway.metrics")

# Reasons a result is rejected, the values of the `reason` label.
REJECT_REASONS = (
    "unknown_monitor",
    "wrong_region",
    "no_status",
    "too_old",
    "in_future",
    "invalid_value",
    "oversize_batch",
)


@dataclasses.dataclass
class FleetView:
    """The gateway's last view of its sessions, the live fleet and the monitors."""

    # Sessions on this replica per region.
    connected: dict[str, int]
    # Live agents of the whole fleet per region: agent id -> organisation
    # id, None for a shared agent.
    live: Mapping[str, Mapping[str, str | None]]
    monitors: Mapping[str, MonitorDef]


def uncovered_monitors(view: FleetView) -> dict[str, int]:
    """Count, per region, the monitors that no live agent may check.

    A shared agent checks every monitor of its region, and an organisation's
    own agent only that organisation's monitors.
    """
    has_shared: dict[str, bool] = {}
    organisations: dict[str, set[str]] = {}
    for region, agents in view.live.items():
        has_shared[region] = any(org is None for org in agents.values())
        organisations[region] = {org for org in agents.values() if org is not None}
    counts: dict[str, int] = {}
    for monitor in view.monitors.values():
        for region in monitor.regions:
            is_covered = has_shared.get(region, False) or (
                monitor.organization_id in organisations.get(region, ())
            )
            counts[region] = counts.get(region, 0) + (0 if is_covered else 1)
    return counts


class _FleetCollector(Collector):
    def __init__(self, read_view: Callable[[], FleetView]) -> None:
        self.read_view = read_view

    def collect(self) -> Iterator[GaugeMetricFamily]:
        view = self.read_view()
        uncovered = uncovered_monitors(view)
        regions = sorted(set(view.connected) | set(view.live) | set(uncovered))
        connected = GaugeMetricFamily(
            "mometrics_gateway_connected_agents",
            "Agents streaming to this gateway process",
            labels=["region"],
        )
        live = GaugeMetricFamily(
            "mometrics_gateway_live_agents",
            "Live agents of the whole fleet, as seen in Redis",
            labels=["region"],
        )
        monitors = GaugeMetricFamily(
            "mometrics_gateway_uncovered_monitors",
            "Monitors of the region that no live agent may check",
            labels=["region"],
        )
        without = GaugeMetricFamily(
            "mometrics_gateway_region_without_coverage",
            "1 while some monitor of the region has no live agent to check it",
            labels=["region"],
        )
        for region in regions:
            connected.add_metric([region], view.connected.get(region, 0))
            live.add_metric([region], len(view.live.get(region, {})))
            monitors.add_metric([region], uncovered.get(region, 0))
            without.add_metric([region], 1 if uncovered.get(region, 0) else 0)
        yield from (connected, live, monitors, without)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry

        # Results, by what became of them
        self.results_received = Counter(
            "mometrics_gateway_results_received_total",
            "Results received in batches, resent ones included",
            registry=registry,
        )
        self.results_stored = Counter(
            "mometrics_gateway_results_stored_total",
            "Results committed for the first time",
            registry=registry,
        )
        self.results_duplicate = Counter(
            "mometrics_gateway_results_duplicate_total",
            "Accepted results that were stored already (resent), so not stored again",
            registry=registry,
        )
        self.results_rejected = Counter(
            "mometrics_gateway_results_rejected_total",
            "Results rejected as invalid, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in REJECT_REASONS:
            self.results_rejected.labels(reason=reason)

        # Batches and their acknowledgements
        self.batches_failed = Counter(
            "mometrics_gateway_batches_failed_total",
            "Batches left unacknowledged after a database error or timeout",
            registry=registry,
        )
        self.batch_commit_seconds = Histogram(
            "mometrics_gateway_batch_commit_seconds",
            "Time to store a batch, from the first statement to the commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
            registry=registry,
        )
        self.acks = Counter(
            "mometrics_gateway_acks_total",
            "Batch acknowledgements sent, by outcome",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("stored", "rejected"):
            self.acks.labels(outcome=outcome)

        # Messages to agents other than acknowledgements, and ended streams
        self.assignment_messages = Counter(
            "mometrics_gateway_assignment_messages_total",
            "Assignment snapshots and deltas sent to agents",
            ["kind"],
            registry=registry,
        )
        for kind in ("snapshot", "delta"):
            self.assignment_messages.labels(kind=kind)
        self.protocol_violations = Counter(
            "mometrics_gateway_protocol_violations_total",
            "Streams ended with INVALID_ARGUMENT because the agent broke the protocol",
            registry=registry,
        )

    def watch_fleet(self, read_view: Callable[[], FleetView]) -> None:
        """Serve the agent and coverage gauges from `read_view` at each scrape."""
        self.registry.register(_FleetCollector(read_view))

    def count_rejected(self, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.results_rejected.labels(reason=reason).inc()


class MetricsServer:
    """An HTTP server in the gateway's event loop that serves /metrics."""

    def __init__(self, metrics: GatewayMetrics, host: str, port: int) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _page(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("gateway metrics listening", extra={"address": f"{self.host}:{self.port}"})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
