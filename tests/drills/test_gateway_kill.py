"""Drill: `kill -9` of one of two gateway replicas with agents connected.

Agents take one gateway address, so they connect through a round-robin TCP
balancer in front of both replicas. Killing the replica that holds agents
closes their streams; they reconnect through the balancer to the survivor
and resend every batch it never acknowledged.
"""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from tests.drills.ledger import Ledger, figures_entry, now_us, record, scaled
from tests.drills.load import INTERVAL_S, create_load
from tests.drills.servers import LoadTarget, LoopThread, TcpProxy
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.e2e]

REGIONS = ["drill-b1", "drill-b2"]
AGENTS = {"agent-b1-1": "drill-b1", "agent-b1-2": "drill-b1", "agent-b2-1": "drill-b2"}
_GATEWAY_ID = re.compile(r"stream connected gateway_id=(\S+)")


def gateways_of(stack: DrillStack) -> dict[str, list[str]]:
    """Return, per agent, the gateway ids of its sessions in the order they opened."""
    return {name: _GATEWAY_ID.findall(stack.log(name)) for name in AGENTS}


def pid_gateway_id(stack: DrillStack, name: str) -> str:
    """Return the id a replica announces by default: host name and process id."""
    return f"{socket.gethostname()}-{stack.processes[name].pid}"


async def test_gateway_kill_loses_nothing(
    stack: DrillStack, target: LoadTarget, loop_thread: LoopThread, database_url: str
) -> None:
    per_region = scaled(8, 80)
    ledger = Ledger(database_url, target)
    stack.start_api()
    ports = [stack.start_gateway("gateway-1"), stack.start_gateway("gateway-2")]
    balancer = TcpProxy(loop_thread, [("127.0.0.1", port) for port in ports]).start()
    for name, region in AGENTS.items():
        stack.start_agent(name, region, stack.create_agent(region), balancer.address)

    async with ApiClient.signed_in(stack.api_url, "drill-b@example.org") as api:
        # Given agents spread over two replicas, every monitor reporting
        await create_load(api, ledger, target, REGIONS, per_region)
        await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a result of every monitor")
        killed_id = pid_gateway_id(stack, "gateway-1")
        survivor_id = pid_gateway_id(stack, "gateway-2")
        on_killed = [name for name, ids in gateways_of(stack).items() if ids[-1] == killed_id]
        assert on_killed, f"no agent connected to gateway-1: {gateways_of(stack)}"

        # When the replica holding agents is killed
        stack.kill9("gateway-1")

        # Then they move to the other replica and every slot is stored once
        async def moved() -> bool:
            sessions = gateways_of(stack)
            return all(sessions[name][-1] == survivor_id for name in on_killed)

        await wait_until(moved, 30, "the agents to reconnect to gateway-2")
        end_us = now_us() + 2_000_000
        await asyncio.sleep(4)
        figures = await ledger.settled_figures(end_us, timeout_s=40)
        stack.assert_running("api", "gateway-2", *AGENTS)

    balancer.stop()
    record(
        "gateway_kill",
        {
            "title": "kill -9 of a gateway replica with agents connected",
            "load": (
                f"{per_region * len(REGIONS)} HTTP monitors at {INTERVAL_S} s, "
                f"{len(REGIONS)} regions, {len(AGENTS)} agents behind a TCP balancer "
                "over two gateway replicas"
            ),
            "fault": "SIGKILL of the replica serving agents, which stays down",
            "agents_moved": len(on_killed),
            **figures_entry(figures),
        },
    )
    assert figures.lost == 0, figures.lost_examples
    assert figures.duplicated_runs == 0
    assert figures.duplicated_rows == 0
