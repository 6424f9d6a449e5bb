"""Agent registration and token checks.

An agent token is `mma_<agent id as 32 hex digits>_<secret>`. Only the
SHA-256 of the secret is stored, so the token is shown once, at creation.
"""

from __future__ import annotations

import hmac
import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.models import Agent

log = logging.getLogger("mometrics.agents")

TOKEN_PREFIX = "mma_"


class InvalidAgentToken(Exception):
    """The token is malformed, unknown, revoked or does not match."""


def format_token(agent_id: uuid.UUID, secret: str) -> str:
    return f"{TOKEN_PREFIX}{agent_id.hex}_{secret}"


def parse_token(token: str) -> tuple[uuid.UUID, str]:
    if not token.startswith(TOKEN_PREFIX):
        raise InvalidAgentToken("agent token must start with mma_")
    agent_hex, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    try:
        agent_id = uuid.UUID(hex=agent_hex)
    except ValueError:
        raise InvalidAgentToken("agent token has a malformed agent id") from None
    if not sep or not secret:
        raise InvalidAgentToken("agent token has no secret part")
    return agent_id, secret


async def create_agent(session: AsyncSession, name: str, region: str) -> tuple[Agent, str]:
    """Register an agent and return it with its token (the only copy)."""
    secret = new_secret()
    agent = Agent(id=uuid.uuid4(), name=name, region=region, token_hash=hash_secret(secret))
    session.add(agent)
    await session.commit()
    await session.refresh(agent)
    log.info("agent registered", extra={"agent_id": str(agent.id), "region": region})
    return agent, format_token(agent.id, secret)


async def authenticate_agent(session: AsyncSession, token: str) -> Agent:
    agent_id, secret = parse_token(token)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise InvalidAgentToken("unknown agent")
    if agent.revoked_at is not None:
        raise InvalidAgentToken("agent revoked")
    if not hmac.compare_digest(agent.token_hash, hash_secret(secret)):
        raise InvalidAgentToken("wrong agent token")
    return agent


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list(await session.scalars(select(Agent).order_by(Agent.region, Agent.name)))
