from __future__ import annotations

import httpx

from tests.api.conftest import HTTP_MONITOR, join, new_tenant


async def _create_key(
    api: httpx.AsyncClient, headers: dict[str, str], scopes: list[str]
) -> dict[str, object]:
    response = await api.post("/api-keys", json={"name": "ci", "scopes": scopes}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_api_key_shown_once_and_hashed(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "keys@example.org")

    created = await _create_key(api, owner.headers, ["monitors:read"])
    listed = await api.get("/api-keys", headers=owner.headers)

    assert str(created["key"]).startswith("mmk_")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert "key" not in listed.json()["items"][0]
    assert str(created["key"]).startswith(listed.json()["items"][0]["prefix"])


async def test_api_key_scopes_enforced(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "scopes@example.org")
    reader = await _create_key(api, owner.headers, ["monitors:read"])
    writer = await _create_key(api, owner.headers, ["monitors:read", "monitors:write"])
    reader_headers = {"Authorization": f"Bearer {reader['key']}"}
    writer_headers = {"Authorization": f"Bearer {writer['key']}"}

    read = await api.get("/monitors", headers=reader_headers)
    denied_write = await api.post("/monitors", json=HTTP_MONITOR, headers=reader_headers)
    allowed_write = await api.post("/monitors", json=HTTP_MONITOR, headers=writer_headers)
    denied_results = await api.get(
        f"/monitors/{allowed_write.json()['id']}/uptime", headers=writer_headers
    )
    denied_channels = await api.get("/channels", headers=writer_headers)

    assert read.status_code == 200
    assert denied_write.status_code == 403
    assert "monitors:write" in denied_write.json()["detail"]
    assert allowed_write.status_code == 201, allowed_write.text
    assert denied_results.status_code == 403
    assert denied_channels.status_code == 403


async def test_api_key_cannot_manage_accounts(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "nokeys@example.org")
    key = await _create_key(api, owner.headers, ["monitors:read"])
    headers = {"Authorization": f"Bearer {key['key']}"}

    assert (await api.get("/api-keys", headers=headers)).status_code == 403
    assert (
        await api.post(
            "/api-keys", json={"name": "x", "scopes": ["monitors:read"]}, headers=headers
        )
    ).status_code == 403
    assert (await api.get("/organizations", headers=headers)).status_code == 403
    assert (await api.get("/auth/me", headers=headers)).status_code == 403


async def test_api_key_revoked_or_unknown_401(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "revoke@example.org")
    key = await _create_key(api, owner.headers, ["monitors:read"])
    headers = {"Authorization": f"Bearer {key['key']}"}

    revoked = await api.delete(f"/api-keys/{key['id']}", headers=owner.headers)
    after = await api.get("/monitors", headers=headers)
    unknown = await api.get("/monitors", headers={"Authorization": "Bearer mmk_not-a-real-key"})

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert unknown.status_code == 401


async def test_api_key_follows_creator_role(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "creator-owner@example.org")
    member = await join(api, owner, "creator-member@example.org", "member")
    key = await _create_key(api, member, ["monitors:read", "monitors:write"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    me = (await api.get("/auth/me", headers=member)).json()

    demoted = await api.patch(
        f"/organizations/{owner.organization_id}/members/{me['id']}",
        json={"role": "viewer"},
        headers=owner.headers,
    )
    as_viewer = await api.post("/monitors", json=HTTP_MONITOR, headers=headers)
    removed = await api.delete(
        f"/organizations/{owner.organization_id}/members/{me['id']}", headers=owner.headers
    )
    after_removal = await api.get("/monitors", headers=headers)

    assert demoted.status_code == 200
    assert as_viewer.status_code == 403
    assert removed.status_code == 204
    assert after_removal.status_code == 401


async def test_api_key_other_organisation_404(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "key-a@example.org")
    other = await new_tenant(api, "key-b@example.org")
    key = await _create_key(api, owner.headers, ["monitors:read"])
    other_key = await _create_key(api, other.headers, ["monitors:read"])

    wrong_org = await api.get(
        "/monitors",
        headers={
            "Authorization": f"Bearer {key['key']}",
            "X-Organization-Id": other.organization_id,
        },
    )
    revoke_other = await api.delete(f"/api-keys/{other_key['id']}", headers=owner.headers)

    assert wrong_org.status_code == 404
    assert revoke_other.status_code == 404


async def test_api_key_invalid_scope_422(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "badscope@example.org")

    response = await api.post(
        "/api-keys", json={"name": "x", "scopes": ["everything"]}, headers=owner.headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("scopes")
