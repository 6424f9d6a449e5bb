"""Dev-mode seed data: a login and one agent per dev region."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

from sqlalchemy import select

from mometrics_control.agents.service import InvalidAgentToken, authenticate_agent, create_agent
from mometrics_control.auth import service as auth
from mometrics_control.db import create_engine, create_sessionmaker
from mometrics_control.models import User

log = logging.getLogger("mometrics.devstack")

DEV_EMAIL = "dev@example.com"
DEV_PASSWORD = "mometrics-dev"
DEV_REGIONS = ("eu-west", "us-east", "ap-south")


async def seed(database_url: str, data_dir: Path) -> dict[str, str]:
    """Create the dev user and agents if missing; return region -> agent token.

    Tokens are kept in data_dir/dev-agents.json, since the database stores
    only their hashes.
    """
    engine = create_engine(database_url, pool_size=1)
    sessionmaker = create_sessionmaker(engine)
    tokens_file = data_dir / "dev-agents.json"
    try:
        stored: dict[str, str] = json.loads(tokens_file.read_text()) if tokens_file.exists() else {}
    except ValueError:
        stored = {}
    tokens: dict[str, str] = {}
    try:
        async with sessionmaker() as session:
            if await session.scalar(select(User).where(User.email == DEV_EMAIL)) is None:
                await auth.register(session, DEV_EMAIL, DEV_PASSWORD, "Dev organisation")
            for region in DEV_REGIONS:
                token = stored.get(region, "")
                try:
                    agent = await authenticate_agent(session, token)
                    if agent.region == region:
                        tokens[region] = token
                        continue
                except InvalidAgentToken:
                    pass
                _, tokens[region] = await create_agent(
                    session, f"dev-{region}-{uuid.uuid4().hex[:6]}", region
                )
    finally:
        await engine.dispose()
    tokens_file.write_text(json.dumps(tokens, indent=2))
    tokens_file.chmod(0o600)
    return tokens
