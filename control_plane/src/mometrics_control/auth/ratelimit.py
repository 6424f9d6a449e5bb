"""Login attempt limits per account and per client address, kept in Redis."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from mometrics_control.errors import RateLimited

WINDOW_S = 300
MAX_PER_ACCOUNT = 10
MAX_PER_CLIENT = 50


async def check_login_rate(redis: Redis, email: str, client: str) -> None:
    """Count one attempt and raise RateLimited past either limit."""
    account_key = "mometrics:login:account:" + hashlib.sha256(email.encode()).hexdigest()
    client_key = "mometrics:login:client:" + client
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(account_key)
        pipe.expire(account_key, WINDOW_S, nx=True)
        pipe.incr(client_key)
        pipe.expire(client_key, WINDOW_S, nx=True)
        account_count, _, client_count, _ = await pipe.execute()
    if account_count > MAX_PER_ACCOUNT or client_count > MAX_PER_CLIENT:
        raise RateLimited(
            f"too many login attempts; try again in {WINDOW_S // 60} minutes",
            retry_after_s=WINDOW_S,
        )
