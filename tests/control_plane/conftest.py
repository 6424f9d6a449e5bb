from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings


@pytest.fixture
async def api(control_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the real app, with its lifespan running."""
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield client


async def sign_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Register and log in; return the Authorization header."""
    response = await client.post("/auth/register", json={"email": email, "password": "s3cret-pass"})
    assert response.status_code == 201, response.text
    response = await client.post("/auth/login", json={"email": email, "password": "s3cret-pass"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
