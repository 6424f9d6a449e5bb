"""Drill: PostgreSQL unreachable from the control plane for a while.

The gateway, the worker and the scheduler reach PostgreSQL through a TCP
proxy that the drill stops forwarding (the machine's server keeps running).
Ingest pauses and the agents keep their results in the spool. When the
proxy forwards again every result arrives, and the outage of the control
plane itself turns no region down and opens no incident.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.drills.ledger import Ledger, figures_entry, now_us, record, scaled
from tests.drills.load import INTERVAL_S, create_load
from tests.drills.servers import LoadTarget, LoopThread, TcpProxy
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.e2e]

REGIONS = ["drill-c1", "drill-c2"]


def through_proxy(database_url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(database_url)
    netloc = f"{parts.username}@{proxy.address}" if parts.username else proxy.address
    return urlunsplit(parts._replace(netloc=netloc))


def spool_size(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


async def down_results(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM check_results WHERE status = 2"))
    finally:
        await connection.close()


async def test_database_outage_loses_nothing(
    stack: DrillStack, target: LoadTarget, loop_thread: LoopThread, database_url: str
) -> None:
    per_region = scaled(6, 60)
    outage_s = scaled(12, 90)
    ledger = Ledger(database_url, target)
    parts = urlsplit(database_url)
    proxy = TcpProxy(loop_thread, [(parts.hostname or "127.0.0.1", parts.port or 5432)]).start()
    proxied = {"MOMETRICS_DATABASE_URL": through_proxy(database_url, proxy)}
    stack.start_api()
    gateway_port = stack.start_gateway(extra_env=proxied)
    stack.start_worker(proxied)
    stack.start_scheduler(proxied)
    agents = {f"agent-{region}": region for region in REGIONS}
    for name, region in agents.items():
        stack.start_agent(name, region, stack.create_agent(region), f"127.0.0.1:{gateway_port}")

    async with ApiClient.signed_in(stack.api_url, "drill-c@example.org") as api:
        # Given every monitor reporting, the gateway reaching PostgreSQL via the proxy
        monitor_ids = await create_load(api, ledger, target, REGIONS, per_region)
        await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a result of every monitor")

        # When PostgreSQL becomes unreachable, the agents keep their results
        proxy.cut("reset")
        spooled_peak = 0
        for _ in range(outage_s):
            await asyncio.sleep(1)
            spooled = sum(spool_size(stack.spool_path(name)) for name in agents)
            spooled_peak = max(spooled_peak, spooled)
        stack.assert_running("gateway", "worker", "scheduler", *agents)

        # Then, once it is reachable again, everything arrives
        proxy.heal()
        end_us = now_us() + 2_000_000
        await asyncio.sleep(4)
        figures = await ledger.settled_figures(end_us, timeout_s=60)

        async def spools_empty() -> bool:
            return all(spool_size(stack.spool_path(name)) == 0 for name in agents)

        await wait_until(spools_empty, 30, "the spools to drain")
        uptimes = [await api.uptime(monitor_id) for monitor_id in monitor_ids]
        incidents = await api.incidents()
        stack.assert_running("api", "gateway", "worker", "scheduler", *agents)

    proxy.stop()
    down = await down_results(database_url)
    down_regions = [
        region["region"]
        for body in uptimes
        for region in body["regions"]
        if region["status"] != "up" or region["uptime"] != 1.0
    ]
    record(
        "database_outage",
        {
            "title": "PostgreSQL unreachable from the control plane",
            "load": f"{per_region * len(REGIONS)} HTTP monitors at {INTERVAL_S} s, "
            f"{len(REGIONS)} regions, one agent each",
            "fault": f"TCP proxy to PostgreSQL resets every connection for {outage_s} s",
            "spooled_peak": spooled_peak,
            "down_results": down,
            "incidents": len(incidents),
            "notifications_expected": 0,
            **figures_entry(figures),
        },
    )
    assert spooled_peak > 0
    assert figures.lost == 0, figures.lost_examples
    assert figures.duplicated_runs == 0
    assert figures.duplicated_rows == 0
    assert down == 0
    assert down_regions == []
    assert incidents == []
