"""Which agents are live right now, shared by gateway replicas through Redis.

Each region has a sorted set of agent ids scored by the Unix time of their
last heartbeat. An agent is live while its score is newer than the liveness
timeout, so a crashed gateway replica's agents expire by themselves.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

# Gateways publish on this channel when an agent joins or leaves a region.
AGENT_CHANGES_CHANNEL = "mometrics:agent-changes"
_REGIONS_KEY = "mometrics:live-regions"


def _region_key(region: str) -> str:
    return f"mometrics:live:{region}"


async def mark_live(redis: Redis, region: str, agent_id: str) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(_region_key(region), {agent_id: time.time()})
        pipe.sadd(_REGIONS_KEY, region)
        await pipe.execute()


async def mark_gone(redis: Redis, region: str, agent_id: str) -> None:
    await redis.zrem(_region_key(region), agent_id)


async def live_agents(redis: Redis, region: str, timeout_s: float) -> list[str]:
    members = await redis.zrangebyscore(_region_key(region), time.time() - timeout_s, "+inf")
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)


async def live_agents_of(
    redis: Redis, regions: list[str], timeout_s: float
) -> dict[str, list[str]]:
    """Return the live agents of each region, read in one round trip."""
    since = time.time() - timeout_s
    async with redis.pipeline(transaction=False) as pipe:
        for region in regions:
            pipe.zrangebyscore(_region_key(region), since, "+inf")
        replies = await pipe.execute()
    return {
        region: sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        for region, members in zip(regions, replies, strict=True)
    }


async def live_by_region(redis: Redis, timeout_s: float) -> dict[str, list[str]]:
    regions = await redis.smembers(_REGIONS_KEY)
    result = {}
    for raw in regions:
        region = raw.decode() if isinstance(raw, bytes) else str(raw)
        result[region] = await live_agents(redis, region, timeout_s)
    return result


async def prune(redis: Redis, region: str, timeout_s: float) -> int:
    """Remove agents silent for longer than the timeout; return how many."""
    removed: int = await redis.zremrangebyscore(
        _region_key(region), "-inf", time.time() - timeout_s
    )
    return removed
