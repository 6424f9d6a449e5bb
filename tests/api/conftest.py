from __future__ import annotations

import dataclasses

import httpx

from tests.control_plane.conftest import api, sign_up

__all__ = ["HTTP_MONITOR", "Tenant", "api", "join", "new_tenant", "sign_up"]

HTTP_MONITOR = {
    "name": "Home page",
    "kind": "http",
    "url": "http://127.0.0.1:9/health",
    "interval_seconds": 30,
    "timeout_seconds": 5,
    "regions": ["eu-west", "us-east"],
}


@dataclasses.dataclass
class Tenant:
    """A registered owner and their organisation."""

    email: str
    headers: dict[str, str]
    organization_id: str


async def new_tenant(client: httpx.AsyncClient, email: str) -> Tenant:
    headers = await sign_up(client, email)
    me = (await client.get("/auth/me", headers=headers)).json()
    organization_id = me["organizations"][0]["id"]
    return Tenant(email, {**headers, "X-Organization-Id": organization_id}, organization_id)


async def join(client: httpx.AsyncClient, owner: Tenant, email: str, role: str) -> dict[str, str]:
    """Register `email`, add it to the owner's organisation with `role`; return its headers."""
    headers = await sign_up(client, email)
    response = await client.post(
        f"/organizations/{owner.organization_id}/members",
        json={"email": email, "role": role},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return {**headers, "X-Organization-Id": owner.organization_id}
