"""Steady load for the drills: many HTTP monitors at the shortest interval."""

from __future__ import annotations

from tests.drills.ledger import Ledger
from tests.drills.servers import LoadTarget
from tests.drills.stack import ApiClient

INTERVAL_S = 10


async def create_load(
    api: ApiClient,
    ledger: Ledger,
    target: LoadTarget,
    regions: list[str],
    per_region: int,
    channel_ids: list[str] | None = None,
) -> list[str]:
    """Create `per_region` monitors checked only in each region; return their ids.

    A monitor has one region, so every request the target receives for its
    key is a check of that region.
    """
    monitor_ids = []
    for region in regions:
        for index in range(per_region):
            key = f"{region}/{index}"
            monitor = await api.create_monitor(
                {
                    "name": f"load {key}",
                    "url": target.url(key),
                    "interval_seconds": INTERVAL_S,
                    "timeout_seconds": 2,
                    "regions": [region],
                    "channel_ids": channel_ids or [],
                }
            )
            ledger.watch(key, monitor["id"], region, INTERVAL_S)
            monitor_ids.append(monitor["id"])
    return monitor_ids
