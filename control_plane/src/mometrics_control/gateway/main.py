"""Run the gateway process: gRPC server, health, reflection, clean drain."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from redis.asyncio import Redis

from mometrics.probe.v1 import agent_pb2, agent_pb2_grpc
from mometrics_control.alerting.state import Transition
from mometrics_control.config import Settings, to_libpq_url
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.gateway.server import Gateway

log = logging.getLogger("mometrics.gateway")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
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
    """Hand state changes to the alerting jobs without blocking the stream."""
    from mometrics_control.jobs import actors

    monitor_ids = sorted({str(t.monitor_id) for t in transitions})
    for monitor_id in monitor_ids:
        try:
            await asyncio.to_thread(actors.evaluate_monitor.send, monitor_id)
        except Exception as err:  # noqa: BLE001 - the scheduler re-evaluates open states
            log.warning(
                "could not enqueue state evaluation",
                extra={"monitor_id": monitor_id, "error": repr(err)},
            )


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    engine = create_engine(settings.database_url, pool_size=5)
    sessionmaker = create_sessionmaker(engine)
    pool = await asyncpg.create_pool(to_libpq_url(settings.database_url), min_size=1, max_size=8)
    redis = Redis.from_url(settings.redis_url)
    gateway = Gateway(settings, sessionmaker, pool, redis, on_transitions=enqueue_transitions)
    await gateway.start()

    server = grpc.aio.server(options=SERVER_OPTIONS)
    agent_pb2_grpc.add_AgentServiceServicer_to_server(gateway, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    service_names = (
        agent_pb2.DESCRIPTOR.services_by_name["AgentService"].full_name,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(service_names, server)
    if settings.gateway_tls_cert:
        # Read once at start, before serving, so blocking reads do no harm.
        cert = Path(settings.gateway_tls_cert).read_bytes()  # noqa: ASYNC240
        key = Path(settings.gateway_tls_key).read_bytes()  # noqa: ASYNC240
        credentials = grpc.ssl_server_credentials([(key, cert)])
        port = server.add_secure_port(settings.gateway_listen, credentials)
    else:
        port = server.add_insecure_port(settings.gateway_listen)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set(service_names[0], health_pb2.HealthCheckResponse.SERVING)
    log.info("gateway listening", extra={"address": settings.gateway_listen, "port": port})

    await stop.wait()
    log.info("gateway stopping", extra={"gateway_id": gateway.gateway_id})
    await health_servicer.enter_graceful_shutdown()
    await gateway.drain()
    await server.stop(DRAIN_GRACE_S)
    await pool.close()
    await redis.aclose()
    await engine.dispose()
    log.info("gateway stopped", extra={"gateway_id": gateway.gateway_id})


def run(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
