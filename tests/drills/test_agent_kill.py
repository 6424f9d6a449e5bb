"""Drill: `kill -9` of an agent under steady load.

Given two agents in one region sharing many monitors at 10 s intervals,
one agent is killed with SIGKILL while its spool contains results the gateway
has not acknowledged. The survivor takes over its monitors, and the killed agent
restarts on the same spool and sends what it held. Every scheduled slot is
stored exactly once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from mometrics.probe.v1 import agent_pb2
from tests.drills.ledger import Ledger, figures_entry, now_us, record, scaled
from tests.drills.load import INTERVAL_S, create_load
from tests.drills.servers import LoadTarget
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.e2e]

REGION = "drill-a"
MAX_KILL_ATTEMPTS = 5


def spooled_slots(path: Path) -> set[tuple[str, int]]:
    """Return (monitor id, slot) of every result in an agent's spool file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT payload FROM results").fetchall()
    except sqlite3.OperationalError:
        return set()
    finally:
        connection.close()
    slots = set()
    for (payload,) in rows:
        result = agent_pb2.CheckResult.FromString(payload)
        slots.add((result.monitor_id, result.scheduled_at_us))
    return slots


async def kill_with_spooled_results(stack: DrillStack, name: str) -> set[tuple[str, int]]:
    """Kill the agent at a moment its spool is not empty; return what it held.

    Acknowledged results leave the spool within about a second, so the
    drill watches the file and kills as soon as it contains a result. When the
    acknowledgement won the race the agent is restarted and the drill tries
    again.
    """
    for _ in range(MAX_KILL_ATTEMPTS):
        deadline = time.monotonic() + 4 * INTERVAL_S
        # The spool is a file another process writes: polling is the only way to watch it.
        while not spooled_slots(stack.spool_path(name)) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        stack.kill9(name)
        held = spooled_slots(stack.spool_path(name))
        if held:
            return held
        stack.restart_agent(name)
        await asyncio.sleep(2)
    raise AssertionError(f"the spool of {name} was empty at each of {MAX_KILL_ATTEMPTS} kills")


async def test_agent_kill_loses_nothing(
    stack: DrillStack, target: LoadTarget, database_url: str
) -> None:
    per_region = scaled(12, 120)
    down_s = scaled(8, 45)
    ledger = Ledger(database_url, target)
    stack.start_api()
    gateway_port = stack.start_gateway()
    for name in ("agent-1", "agent-2"):
        token = stack.create_agent(REGION)
        stack.start_agent(name, REGION, token, f"127.0.0.1:{gateway_port}")

    async with ApiClient.signed_in(stack.api_url, "drill-a@example.org") as api:
        # Given two agents sharing steady load, every monitor reporting
        await create_load(api, ledger, target, [REGION], per_region)
        await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a result of every monitor")

        # When one agent is killed while its spool contains unacknowledged results
        held = await kill_with_spooled_results(stack, "agent-1")
        await asyncio.sleep(down_s)

        # Then, restarted on the same spool, it delivers them
        stack.restart_agent("agent-1")

        async def held_stored() -> bool:
            stored = await ledger.stored_slots()
            present = {(m, s) for (m, _), slots in stored.items() for s in slots}
            return all((m, s) in present for m, s in held)

        await wait_until(held_stored, 60, "the killed agent's spooled results")
        end_us = now_us() + 2_000_000
        await asyncio.sleep(4)
        figures = await ledger.settled_figures(end_us, timeout_s=40)
        stack.assert_running("api", "gateway", "agent-1", "agent-2")

    record(
        "agent_kill",
        {
            "title": "kill -9 of an agent during steady load",
            "load": f"{per_region} HTTP monitors at {INTERVAL_S} s, one region, two agents",
            "fault": f"SIGKILL of one agent, restarted after {down_s} s on the same spool",
            "spooled_at_kill": len(held),
            "spooled_delivered": len(held),
            **figures_entry(figures),
        },
    )
    assert figures.lost == 0, figures.lost_examples
    assert figures.duplicated_runs == 0
    assert figures.duplicated_rows == 0
    assert figures.results_stored == figures.slots_expected
