"""Fixtures of every agent test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mometrics_agent import checks


@pytest.fixture(autouse=True)
async def close_check_clients() -> AsyncIterator[None]:
    """Close the HTTP checks' shared session before the test's event loop ends."""
    yield
    await checks.close_shared_clients()
