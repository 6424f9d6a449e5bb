"""Fixtures of the agent runtime tests: a real gateway and local HTTP targets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.agent.runtime.harness import InProcessGateway, Target


@pytest.fixture
async def gateway(control_env: dict[str, str]) -> AsyncIterator[InProcessGateway]:
    """Return a gateway on its own database and Redis index, not yet started.

    Tests seed monitors first, because the gateway loads them when it starts.
    """
    server = InProcessGateway()
    yield server
    await server.stop()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """Return a started local HTTP target whose /slow path waits 1.5 s."""
    server = Target(delay_s=1.5)
    await server.start()
    yield server
    await server.stop()
