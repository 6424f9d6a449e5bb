"""Nothing is lost when the gateway restarts or PostgreSQL is away for a while.

These run the real probe agent in this process: it checks a monitor every
second, keeps results in its spool and resends what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Callable

import asyncpg

from tests.gateway.conftest import (
    Gateways,
    ProbeAgentRun,
    eventually,
    monitors,
    register_agent,
)

REGION = "eu-west"


class PausableProxy:
    """A loopback TCP proxy that can cut every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.is_paused = False
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_paused:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}

    def pause(self) -> None:
        """Stop forwarding: close every open connection and refuse new ones."""
        self.is_paused = True
        for writer in list(self._writers):
            writer.close()

    def resume(self) -> None:
        self.is_paused = False

    async def stop(self) -> None:
        self.pause()
        self.server.close()
        await self.server.wait_closed()


async def _scheduled_times(pool: asyncpg.Pool, monitor_id: str) -> list[dt.datetime]:
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT scheduled_at FROM check_results WHERE monitor_id = $1 ORDER BY 1",
            uuid.UUID(monitor_id),
        )
    return [row["scheduled_at"] for row in rows]


def _assert_no_gap(times: list[dt.datetime], interval: dt.timedelta) -> None:
    gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a != interval]
    assert not gaps, f"missing or irregular results between {gaps[:3]}"


async def test_agent_reconnects_after_gateway_restart(
    pool: asyncpg.Pool,
    gateways: Gateways,
    database_url: str,
    probe_agents: Callable[..., ProbeAgentRun],
) -> None:
    # Given a real agent checking a monitor every second through a gateway
    (monitor_id,) = await monitors(pool, 1, [REGION], interval_s=1)
    server = await gateways.start()
    port = server.port
    _, token = await register_agent(database_url, REGION)
    run = probe_agents(port, token, REGION)
    await eventually(lambda: run.agent.client.connected, 10, "agent to connect")
    await eventually(
        lambda: _count_at_least(pool, monitor_id, 3), 10, "first results", interval_s=0.2
    )

    # When the gateway stops for a few seconds and starts again on its port
    await gateways.stop(server)
    await eventually(lambda: not run.agent.client.connected, 5, "agent to notice")
    await asyncio.sleep(3)
    stored_during = len(await _scheduled_times(pool, monitor_id))
    await gateways.start(port=port)

    # Then the agent reconnects and every result of the outage arrives once
    restarted_at = dt.datetime.now(dt.UTC)
    await eventually(lambda: run.agent.client.connected, 30, "agent to reconnect")
    await eventually(
        lambda: _complete_through(pool, monitor_id, restarted_at),
        30,
        "every result of the outage",
        interval_s=0.5,
    )
    await run.stop()
    times = await _scheduled_times(pool, monitor_id)
    _assert_no_gap(times, dt.timedelta(seconds=1))
    assert len(times) >= stored_during + 4


async def _count_at_least(pool: asyncpg.Pool, monitor_id: str, count: int) -> bool:
    return len(await _scheduled_times(pool, monitor_id)) >= count


async def _complete_through(pool: asyncpg.Pool, monitor_id: str, moment: dt.datetime) -> bool:
    """Return whether results reach past `moment` with no missing run."""
    times = await _scheduled_times(pool, monitor_id)
    if not times or times[-1] < moment:
        return False
    return all(b - a == dt.timedelta(seconds=1) for a, b in itertools.pairwise(times))


async def test_postgres_outage_loses_nothing(
    pool: asyncpg.Pool,
    gateways: Gateways,
    database_url: str,
    probe_agents: Callable[..., ProbeAgentRun],
) -> None:
    # Given a gateway that reaches PostgreSQL through a proxy, and a real agent
    (monitor_id,) = await monitors(pool, 1, [REGION], interval_s=1)
    proxy = PausableProxy(5432)
    proxy_port = await proxy.start()
    host, _, rest = database_url.partition("127.0.0.1:5432")
    server = await gateways.start(database_url=f"{host}127.0.0.1:{proxy_port}{rest}")
    _, token = await register_agent(database_url, REGION)
    run = probe_agents(server.port, token, REGION)
    await eventually(lambda: run.agent.client.connected, 10, "agent to connect")
    await eventually(
        lambda: _count_at_least(pool, monitor_id, 2), 10, "first results", interval_s=0.2
    )

    # When PostgreSQL is unreachable for five seconds
    proxy.pause()
    await asyncio.sleep(5)
    spooled_during = run.agent.spool.size
    proxy.resume()

    # Then the stream stays up, the spool drains, and nothing is missing
    resumed_at = dt.datetime.now(dt.UTC)
    assert spooled_during >= 3
    assert run.agent.client.connected
    await eventually(
        lambda: _complete_through(pool, monitor_id, resumed_at),
        40,
        "spooled results to be stored",
        interval_s=0.5,
    )
    await run.stop()
    times = await _scheduled_times(pool, monitor_id)
    _assert_no_gap(times, dt.timedelta(seconds=1))
    await gateways.stop_all()
    await proxy.stop()
