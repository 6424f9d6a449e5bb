from __future__ import annotations

import httpx

from tests.api.conftest import HTTP_MONITOR, join, new_tenant, sign_up


async def _user_id(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await api.get("/auth/me", headers=headers)).json()["id"])


async def test_organization_create_and_list(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "orgs@example.org")

    created = await api.post("/organizations", json={"name": "Second"}, headers=owner.headers)
    listed = await api.get("/organizations", headers=owner.headers)
    renamed = await api.patch(
        f"/organizations/{created.json()['id']}", json={"name": "Renamed"}, headers=owner.headers
    )

    assert created.status_code == 201
    assert created.json()["role"] == "owner"
    assert [o["name"] for o in listed.json()["items"]][1] == "Second"
    assert renamed.json()["name"] == "Renamed"


async def test_members_add_change_remove(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "team-owner@example.org")
    admin = await join(api, owner, "team-admin@example.org", "admin")
    member_headers = await sign_up(api, "team-member@example.org")
    member_id = await _user_id(api, member_headers)
    path = f"/organizations/{owner.organization_id}/members"

    added = await api.post(
        path, json={"email": "team-member@example.org", "role": "viewer"}, headers=admin
    )
    duplicate = await api.post(
        path, json={"email": "team-member@example.org", "role": "viewer"}, headers=admin
    )
    unknown = await api.post(path, json={"email": "ghost@example.org"}, headers=admin)
    admin_grants_owner = await api.patch(
        f"{path}/{member_id}", json={"role": "owner"}, headers=admin
    )
    promoted = await api.patch(f"{path}/{member_id}", json={"role": "member"}, headers=admin)
    listed = await api.get(path, headers=admin)
    removed = await api.delete(f"{path}/{member_id}", headers=admin)

    assert added.status_code == 201, added.text
    assert duplicate.status_code == 409
    assert unknown.status_code == 404
    assert admin_grants_owner.status_code == 403
    assert promoted.json()["role"] == "member"
    assert sorted(m["role"] for m in listed.json()["items"]) == ["admin", "member", "owner"]
    assert removed.status_code == 204


async def test_last_owner_cannot_leave(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "last-owner@example.org")
    owner_id = await _user_id(api, owner.headers)
    path = f"/organizations/{owner.organization_id}/members/{owner_id}"

    leave = await api.delete(path, headers=owner.headers)
    demote = await api.patch(path, json={"role": "admin"}, headers=owner.headers)

    assert leave.status_code == 409
    assert demote.status_code == 409


async def test_member_may_leave(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "leave-owner@example.org")
    viewer = await join(api, owner, "leaver@example.org", "viewer")
    viewer_id = await _user_id(api, viewer)

    leave = await api.delete(
        f"/organizations/{owner.organization_id}/members/{viewer_id}", headers=viewer
    )
    after = await api.get("/monitors", headers=viewer)

    assert leave.status_code == 204
    assert after.status_code == 404


async def test_delete_organization_owner_only(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "del-owner@example.org")
    admin = await join(api, owner, "del-admin@example.org", "admin")
    await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)
    path = f"/organizations/{owner.organization_id}"

    by_admin = await api.delete(path, headers=admin)
    by_owner = await api.delete(path, headers=owner.headers)
    after = await api.get(path, headers=owner.headers)

    assert by_admin.status_code == 403
    assert by_owner.status_code == 204
    assert after.status_code == 404


# (method, path template, JSON body, lowest role allowed)
WRITES = [
    ("POST", "/monitors", HTTP_MONITOR, "member"),
    ("PATCH", "/monitors/{monitor}", {"name": "Renamed"}, "member"),
    ("POST", "/monitors/{monitor}/pause", None, "member"),
    ("POST", "/monitors/{monitor}/resume", None, "member"),
    ("POST", "/monitors/import", {"monitors": []}, "member"),
    (
        "POST",
        "/channels",
        {"kind": "webhook", "name": "hook", "config": {"url": "http://127.0.0.1:9/hook"}},
        "admin",
    ),
    ("POST", "/agents", {"name": "agent", "region": "eu-west"}, "admin"),
    ("PUT", "/status-page", {"slug": "{slug}", "title": "Status"}, "admin"),
    ("POST", "/api-keys", {"name": "k", "scopes": ["monitors:read"]}, "member"),
    ("GET", "/api-keys", None, "admin"),
    ("PATCH", "/organizations/{org}", {"name": "Renamed"}, "admin"),
    ("POST", "/organizations/{org}/members", {"email": "{email}", "role": "viewer"}, "admin"),
    ("DELETE", "/monitors/{monitor}", None, "member"),
    ("DELETE", "/organizations/{org}", None, "owner"),
]
RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}


def _fill(value: object, names: dict[str, str]) -> object:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


async def test_role_matrix(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "matrix-owner@example.org")
    callers = {"owner": owner.headers}
    for role in ("admin", "member", "viewer"):
        callers[role] = await join(api, owner, f"matrix-{role}@example.org", role)
    for index in range(4):
        await sign_up(api, f"matrix-invitee{index}@example.org")

    invitees = iter(range(4))
    for method, template, body, lowest in WRITES:
        for role in ("viewer", "member", "admin", "owner"):
            monitor = await api.post(
                "/monitors", json={**HTTP_MONITOR, "name": f"m-{role}"}, headers=owner.headers
            )
            names = {
                "monitor": monitor.json()["id"],
                "org": owner.organization_id,
                "slug": f"slug-{role}",
                "email": "matrix-invitee0@example.org",
            }
            if template.endswith("/members") and RANK[role] >= RANK[lowest]:
                names["email"] = f"matrix-invitee{next(invitees)}@example.org"
            response = await api.request(
                method,
                _fill(template, names),
                json=_fill(body, names),
                headers=callers[role],  # type: ignore[arg-type]
            )
            is_allowed = RANK[role] >= RANK[lowest]
            label = f"{method} {template} as {role}"
            if is_allowed:
                assert response.status_code < 400, (label, response.status_code, response.text)
            else:
                assert response.status_code == 403, (label, response.status_code, response.text)


async def test_nul_character_rejected_422(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "nul@example.org")

    response = await api.post("/organizations", json={"name": "a\u0000b"}, headers=owner.headers)

    assert response.status_code == 422
