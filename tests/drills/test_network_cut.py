"""Drill: a network cut between one region's agents and the gateway.

The agents of one region reach the gateway through a TCP proxy that stops
forwarding (it drops bytes, like a broken path, rather than resetting).
While the cut lasts the region shows no coverage or no data, never down,
and no notification is sent. When it heals the spooled results fill the gap.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.drills.ledger import Ledger, figures_entry, now_us, record, scaled
from tests.drills.load import INTERVAL_S, create_load
from tests.drills.servers import LoadTarget, LoopThread, TcpProxy, WebhookReceiver
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.e2e]

CUT_REGION = "drill-e1"
OTHER_REGION = "drill-e2"


async def test_network_cut_is_no_data_not_down(
    stack: DrillStack, target: LoadTarget, loop_thread: LoopThread, database_url: str
) -> None:
    per_region = scaled(4, 40)
    cut_s = scaled(12, 90)
    ledger = Ledger(database_url, target)
    receiver = WebhookReceiver(loop_thread).start()
    stack.start_api()
    gateway_port = stack.start_gateway()
    stack.start_worker()
    stack.start_scheduler()
    link = TcpProxy(loop_thread, [("127.0.0.1", gateway_port)]).start()
    stack.start_agent("agent-cut", CUT_REGION, stack.create_agent(CUT_REGION), link.address)
    stack.start_agent(
        "agent-other", OTHER_REGION, stack.create_agent(OTHER_REGION), f"127.0.0.1:{gateway_port}"
    )

    async with ApiClient.signed_in(stack.api_url, "drill-e@example.org") as api:
        # Given monitors in two regions that notify a webhook, every one reporting
        channel = await api.create_channel("webhook", "drill receiver", {"url": receiver.url})
        monitor_ids = await create_load(
            api, ledger, target, [CUT_REGION, OTHER_REGION], per_region, [channel]
        )
        cut_monitor = monitor_ids[0]
        await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a result of every monitor")

        # When the cut region's link drops everything
        link.cut("blackhole")
        seen: set[str] = set()
        for _ in range(cut_s):
            body = await api.uptime(cut_monitor)
            seen.update(region["status"] for region in body["regions"])
            await asyncio.sleep(1)
        stack.assert_running("gateway", "agent-cut", "agent-other")

        # Then, after it heals, the gap fills and no notification was sent
        link.heal()
        end_us = now_us() + 2_000_000
        await asyncio.sleep(4)
        figures = await ledger.settled_figures(end_us, timeout_s=60)
        incidents = await api.incidents()
        stack.assert_running()

    link.stop()
    receiver.stop()
    record(
        "network_cut",
        {
            "title": "network cut between one region's agents and the gateway",
            "load": f"{2 * per_region} HTTP monitors at {INTERVAL_S} s in two regions, "
            "one agent each, webhook channel attached",
            "fault": f"the cut region's TCP link drops all bytes for {cut_s} s",
            "statuses_seen_during_cut": sorted(seen),
            "incidents": len(incidents),
            "notifications_expected": 0,
            "notifications_delivered": len(receiver.deliveries),
            **figures_entry(figures),
        },
    )
    assert "down" not in seen
    assert seen & {"no_coverage", "no_data"}
    assert receiver.deliveries == []
    assert incidents == []
    assert figures.lost == 0, figures.lost_examples
    assert figures.duplicated_runs == 0
    assert figures.duplicated_rows == 0
