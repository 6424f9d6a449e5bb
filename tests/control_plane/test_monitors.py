from __future__ import annotations

import httpx

from tests.control_plane.conftest import sign_up

HTTP_MONITOR = {
    "name": "Home page",
    "kind": "http",
    "url": "http://127.0.0.1:9/health",
    "interval_seconds": 30,
    "timeout_seconds": 5,
    "regions": ["eu-west", "us-east"],
}


async def test_monitor_crud(api: httpx.AsyncClient) -> None:
    headers = await sign_up(api, "crud@example.org")

    created = await api.post("/monitors", json=HTTP_MONITOR, headers=headers)
    monitor_id = created.json()["id"]
    listed = await api.get("/monitors", headers=headers)
    patched = await api.patch(
        f"/monitors/{monitor_id}", json={"paused": True, "interval_seconds": 60}, headers=headers
    )
    deleted = await api.delete(f"/monitors/{monitor_id}", headers=headers)
    missing = await api.get(f"/monitors/{monitor_id}", headers=headers)

    assert created.status_code == 201, created.text
    assert created.json()["url"] == HTTP_MONITOR["url"]
    assert created.json()["regions"] == ["eu-west", "us-east"]
    assert [m["id"] for m in listed.json()["items"]] == [monitor_id]
    assert patched.json()["paused"] is True
    assert patched.json()["interval_seconds"] == 60
    assert patched.json()["version"] == 2
    assert deleted.status_code == 204
    assert missing.status_code == 404


async def test_monitor_invalid_input_names_field(api: httpx.AsyncClient) -> None:
    headers = await sign_up(api, "invalid@example.org")
    cases = {
        "url": {**HTTP_MONITOR, "url": "ftp://example.org/"},
        "interval_seconds": {**HTTP_MONITOR, "interval_seconds": 5},
        "timeout_seconds": {**HTTP_MONITOR, "interval_seconds": 10, "timeout_seconds": 30},
        "regions": {**HTTP_MONITOR, "regions": ["EU West"]},
        "options.expected_status": {**HTTP_MONITOR, "options": {"expected_status": ["abc"]}},
        "target": {**HTTP_MONITOR, "kind": "tcp", "url": None, "target": "no-port"},
    }
    for field, body in cases.items():
        response = await api.post("/monitors", json=body, headers=headers)
        assert response.status_code == 422, field
        fields = [error["field"] for error in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (field, fields)

    listed = await api.get("/monitors", headers=headers)
    assert listed.json()["items"] == []


async def test_private_targets_rejected_when_not_allowed(
    api: httpx.AsyncClient, monkeypatch: object
) -> None:
    headers = await sign_up(api, "private@example.org")
    api_app = api._transport.app  # type: ignore[attr-defined]
    api_app.state.settings = api_app.state.settings.model_copy(
        update={"allow_private_targets": False}
    )
    cases = [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest",
        "http://[::1]:8080/",
        "http://10.1.2.3/",
    ]
    for url in cases:
        response = await api.post("/monitors", json={**HTTP_MONITOR, "url": url}, headers=headers)
        assert response.status_code == 422, url
        assert "internal address" in response.json()["errors"][0]["message"]


async def test_other_tenant_ids_answer_404(api: httpx.AsyncClient) -> None:
    owner = await sign_up(api, "owner@example.org")
    intruder = await sign_up(api, "intruder@example.org")
    monitor_id = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner)).json()["id"]

    reads = [
        await api.get(f"/monitors/{monitor_id}", headers=intruder),
        await api.patch(f"/monitors/{monitor_id}", json={"paused": True}, headers=intruder),
        await api.delete(f"/monitors/{monitor_id}", headers=intruder),
        await api.get(f"/monitors/{monitor_id}/uptime", headers=intruder),
        await api.get(f"/monitors/{monitor_id}/results", headers=intruder),
    ]

    assert [r.status_code for r in reads] == [404] * 5
    still_there = await api.get(f"/monitors/{monitor_id}", headers=owner)
    assert still_there.json()["paused"] is False


async def test_unauthenticated_requests_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/monitors")

    assert response.status_code == 401
    assert response.json()["status"] == 401


async def test_overview_etag_not_modified(api: httpx.AsyncClient) -> None:
    headers = await sign_up(api, "etag@example.org")
    await api.post("/monitors", json=HTTP_MONITOR, headers=headers)

    first = await api.get("/overview", headers=headers)
    second = await api.get("/overview", headers={**headers, "If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert first.json()["items"][0]["status"] == "no_data"
    assert second.status_code == 304
