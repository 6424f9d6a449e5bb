"""Every resource id of one organisation answers 404 to another organisation."""

from __future__ import annotations

import httpx

from tests.api.conftest import HTTP_MONITOR, new_tenant


async def test_other_tenant_ids_answer_404_everywhere(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "victim@example.org")
    intruder = await new_tenant(api, "attacker@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()
    push = (
        await api.post(
            "/monitors",
            json={"name": "cron", "kind": "push", "interval_seconds": 60},
            headers=owner.headers,
        )
    ).json()
    channel = (
        await api.post(
            "/channels",
            json={"kind": "webhook", "name": "hook", "config": {"url": "http://127.0.0.1:9/x"}},
            headers=owner.headers,
        )
    ).json()
    agent = (
        await api.post("/agents", json={"name": "a", "region": "eu-west"}, headers=owner.headers)
    ).json()
    key = (
        await api.post(
            "/api-keys", json={"name": "k", "scopes": ["monitors:read"]}, headers=owner.headers
        )
    ).json()
    owner_id = (await api.get("/auth/me", headers=owner.headers)).json()["id"]
    org = owner.organization_id

    attempts = [
        ("GET", f"/monitors/{monitor['id']}", None),
        ("PATCH", f"/monitors/{monitor['id']}", {"name": "pwned"}),
        ("DELETE", f"/monitors/{monitor['id']}", None),
        ("POST", f"/monitors/{monitor['id']}/pause", None),
        ("POST", f"/monitors/{monitor['id']}/resume", None),
        ("GET", f"/monitors/{monitor['id']}/uptime", None),
        ("GET", f"/monitors/{monitor['id']}/results", None),
        ("GET", f"/monitors/{monitor['id']}/latency", None),
        ("POST", f"/monitors/{push['id']}/push-token", None),
        ("DELETE", f"/channels/{channel['id']}", None),
        ("DELETE", f"/agents/{agent['id']}", None),
        ("DELETE", f"/api-keys/{key['id']}", None),
        ("GET", f"/organizations/{org}", None),
        ("PATCH", f"/organizations/{org}", {"name": "pwned"}),
        ("DELETE", f"/organizations/{org}", None),
        ("GET", f"/organizations/{org}/members", None),
        ("POST", f"/organizations/{org}/members", {"email": "attacker@example.org"}),
        ("PATCH", f"/organizations/{org}/members/{owner_id}", {"role": "viewer"}),
        ("DELETE", f"/organizations/{org}/members/{owner_id}", None),
    ]
    for method, path, body in attempts:
        response = await api.request(method, path, json=body, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.status_code)

    # Switching organisation with the header does not help either.
    as_owner_org = await api.get(
        "/monitors", headers={**intruder.headers, "X-Organization-Id": org}
    )
    assert as_owner_org.status_code == 404

    # Lists show nothing of the other organisation.
    for path in ("/monitors", "/channels", "/agents", "/incidents", "/api-keys"):
        listed = await api.get(path, headers=intruder.headers)
        assert listed.status_code == 200, path
        assert listed.json()["items"] == [], path
    exported = await api.get("/monitors/export", headers=intruder.headers)
    assert exported.json() == {"monitors": []}

    # The owner's data is untouched.
    still = await api.get(f"/monitors/{monitor['id']}", headers=owner.headers)
    assert still.json()["name"] == HTTP_MONITOR["name"]
    assert still.json()["paused"] is False
