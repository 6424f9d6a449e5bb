"""Run the gateway process: gRPC server, health, reflection, clean drain."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable

import asyncpg
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from redis.asyncio import Redis

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_control.alerting.state import Transition
from mometrics_control.config import Settings, to_libpq_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.gateway.metrics import MetricsServer
from mometrics_control.gateway.server import Gateway, TransitionSink

log = logging.getLogger("mometrics.gateway")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Allocations between two young-generation garbage collections (Python's
# default is 700); see run().
GC_THRESHOLD = 50_000
DRAIN_GRACE_S = 5.0

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Ping idle streams so dead peers are noticed, and accept agents' pings.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
]


async def enqueue_transitions(transitions: list[Transition]) -> None:
    """Ask the alerting jobs to evaluate each monitor that changed, once."""
    monitor_ids = sorted({str(t.monitor_id) for t in transitions})
    # One thread hop for all of them, because Dramatiq's Redis broker blocks.
    await asyncio.to_thread(_send_evaluations, monitor_ids)


def _send_evaluations(monitor_ids: list[str]) -> None:
    from mometrics_control.jobs import actors

    failed: list[str] = []
    error: Exception | None = None
    for monitor_id in monitor_ids:
        try:
            actors.evaluate_monitor.send(monitor_id)
        except Exception as err:  # noqa: BLE001 - the scheduler re-evaluates open states
            failed.append(monitor_id)
            error = err
    if failed:
        log.warning(
            "could not enqueue state evaluations",
            extra={"monitors": len(failed), "monitor_id": failed[0], "error": repr(error)},
        )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Skip the reset query that asyncpg's pool sends on every release.

    Only Ingestor uses this pool and it changes no session state, apart from
    its temporary table, which it truncates at every commit. asyncpg still
    rolls back a transaction left open before it calls this.
    """


def _server_credentials(settings: Settings) -> grpc.ServerCredentials:
    with open(settings.gateway_tls_cert, "rb") as cert, open(settings.gateway_tls_key, "rb") as key:
        return grpc.ssl_server_credentials([(key.read(), cert.read())])


class GatewayServer:
    """The gateway servicer with its gRPC server, database pool and Redis client."""

    def __init__(
        self, settings: Settings, on_transitions: TransitionSink | None = enqueue_transitions
    ) -> None:
        self.settings = settings
        self.on_transitions = on_transitions
        self.port = 0
        self.metrics_server: MetricsServer | None = None

    async def start(self) -> int:
        """Start serving on settings.gateway_listen; return the bound port."""
        settings = self.settings
        self.engine = create_engine(settings.database_url, pool_size=5)
        self.pool = await asyncpg.create_pool(
            to_libpq_url(settings.database_url), min_size=1, max_size=8, reset=_keep_session
        )
        self.redis = Redis.from_url(settings.redis_url)
        self.gateway = Gateway(
            settings,
            create_sessionmaker(self.engine),
            self.pool,
            self.redis,
            on_transitions=self.on_transitions,
        )
        await self.gateway.start()

        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        agent_pb2_grpc.add_AgentServiceServicer_to_server(self.gateway, self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        service_names = (
            agent_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(service_names, self.server)
        if settings.gateway_tls_cert:
            credentials = _server_credentials(settings)
            self.port = self.server.add_secure_port(settings.gateway_listen, credentials)
        else:
            self.port = self.server.add_insecure_port(settings.gateway_listen)
        await self.server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(service_names[0], health_pb2.HealthCheckResponse.SERVING)
        if settings.gateway_metrics_port:
            self.metrics_server = MetricsServer(
                self.gateway.metrics, settings.gateway_metrics_host, settings.gateway_metrics_port
            )
            await self.metrics_server.start()
        log.info("gateway listening", extra={"address": settings.gateway_listen, "port": self.port})
        return self.port

    async def stop(self, grace_s: float = DRAIN_GRACE_S) -> None:
        """Report NOT_SERVING, ask agents to reconnect elsewhere, then close."""
        log.info("gateway stopping", extra={"gateway_id": self.gateway.gateway_id})
        await self.health.enter_graceful_shutdown()
        await self.gateway.drain()
        await self.server.stop(grace_s)
        await self.gateway.finish()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.pool.close()
        await self.redis.aclose()
        await self.engine.dispose()
        log.info("gateway stopped", extra={"gateway_id": self.gateway.gateway_id})


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    stop = stop or asyncio.Event()
    server = GatewayServer(settings)
    await server.start()
    if on_started is not None:
        on_started()
    await stop.wait()
    await server.stop()


def run(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop, on_started=gc.freeze)

    # Every batch allocates thousands of short-lived objects. With the
    # default threshold of 700 allocations, garbage collection took 18 % of
    # the gateway's CPU samples in bench/ingest (py-spy --native), because
    # older generations hold the monitor and assignment tables. A higher
    # threshold and freezing what start-up loaded brought it to about 3 %.
    gc.set_threshold(GC_THRESHOLD, 20, 20)

    asyncio.run(main())
