"""Organisation invitations through the REST API, without a mail server.

Without SMTP every invitation has delivery "link", and the response's
accept_url carries the token that the invitee presents.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from mometrics_control.invitations import service
from tests.api.conftest import Tenant, join, new_tenant, sign_up

PASSWORD = "s3cret-pass"


def _path(organization_id: str) -> str:
    return f"/organizations/{organization_id}/invitations"


async def _invite(
    api: httpx.AsyncClient, owner: Tenant, email: str, role: str = "member"
) -> dict[str, str]:
    response = await api.post(
        _path(owner.organization_id), json={"email": email, "role": role}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def _token(invitation: dict[str, str]) -> str:
    return invitation["accept_url"].split("#token=", 1)[1]


async def _pending_emails(api: httpx.AsyncClient, owner: Tenant) -> list[str]:
    response = await api.get(_path(owner.organization_id), headers=owner.headers)
    assert response.status_code == 200, response.text
    return [item["email"] for item in response.json()["items"]]


async def _login(api: httpx.AsyncClient, email: str) -> httpx.Response:
    return await api.post("/auth/login", json={"email": email, "password": PASSWORD})


async def _roles(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    me = (await api.get("/auth/me", headers=headers)).json()
    return {org["id"]: org["role"] for org in me["organizations"]}


async def test_invitation_link_accepted_by_existing_user(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "inv-owner@example.org")
    bob = await sign_up(api, "bob@example.org")

    invitation = await _invite(api, owner, "Bob@Example.ORG", "member")
    listed = await _pending_emails(api, owner)
    accepted = await api.post(
        "/invitations/accept", json={"token": _token(invitation)}, headers=bob
    )
    again = await api.post("/invitations/accept", json={"token": _token(invitation)}, headers=bob)
    members = await api.get(
        f"/organizations/{owner.organization_id}/members", headers=owner.headers
    )

    assert invitation["delivery"] == "link"
    assert invitation["email"] == "bob@example.org"
    assert invitation["role"] == "member"
    assert invitation["accept_url"].startswith("http://test/invitations/accept#token=")
    assert invitation["email_sent_at"] is None
    assert listed == ["bob@example.org"]
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["id"] == owner.organization_id
    assert accepted.json()["role"] == "member"
    assert again.status_code == 200
    assert again.json() == accepted.json()
    assert (await _roles(api, bob))[owner.organization_id] == "member"
    emails = [m["email"] for m in members.json()["items"]]
    assert emails.count("bob@example.org") == 1
    assert await _pending_emails(api, owner) == []


async def test_invitation_list_hides_token(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "hide-owner@example.org")
    invitation = await _invite(api, owner, "hidden@example.org")

    listed = await api.get(_path(owner.organization_id), headers=owner.headers)

    (item,) = listed.json()["items"]
    assert item["id"] == invitation["id"]
    assert "accept_url" not in item
    assert _token(invitation) not in listed.text


async def test_invitation_replaces_pending_one(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "replace-owner@example.org")
    carol = await sign_up(api, "carol@example.org")

    first = await _invite(api, owner, "carol@example.org", "viewer")
    second = await _invite(api, owner, "CAROL@example.org", "admin")
    listed = (await api.get(_path(owner.organization_id), headers=owner.headers)).json()
    old_link = await api.post("/invitations/accept", json={"token": _token(first)}, headers=carol)
    new_link = await api.post("/invitations/accept", json={"token": _token(second)}, headers=carol)

    assert [item["id"] for item in listed["items"]] == [second["id"]]
    assert listed["items"][0]["role"] == "admin"
    assert old_link.status_code == 410
    assert "replaced" in old_link.json()["detail"]
    assert new_link.status_code == 200, new_link.text
    assert new_link.json()["role"] == "admin"


# (actor role, invited role, expected status)
INVITE_MATRIX = [
    ("owner", "owner", 201),
    ("owner", "admin", 201),
    ("admin", "admin", 201),
    ("admin", "member", 201),
    ("admin", "viewer", 201),
    ("admin", "owner", 403),
    ("member", "viewer", 403),
    ("member", "member", 403),
    ("viewer", "viewer", 403),
]


async def test_invitation_role_matrix(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "matrix-owner@example.org")
    headers = {"owner": owner.headers}
    for role in ("admin", "member", "viewer"):
        headers[role] = await join(api, owner, f"matrix-{role}@example.org", role)
    path = _path(owner.organization_id)

    for index, (actor, invited, expected) in enumerate(INVITE_MATRIX):
        body = {"email": f"matrix-new-{index}@example.org", "role": invited}
        response = await api.post(path, json=body, headers=headers[actor])
        assert response.status_code == expected, (actor, invited, response.text)
        if expected == 403:
            assert response.headers["content-type"] == "application/problem+json"
            assert "role" in response.json()["detail"]

    for actor, expected in (("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)):
        listed = await api.get(path, headers=headers[actor])
        assert listed.status_code == expected, (actor, listed.text)

    owner_invitation = await _invite(api, owner, "matrix-owner2@example.org", "owner")
    member_invitation = await _invite(api, owner, "matrix-member2@example.org", "member")
    revokes = [
        ("member", member_invitation, 403),
        ("viewer", member_invitation, 403),
        ("admin", owner_invitation, 403),
        ("admin", member_invitation, 204),
        ("owner", owner_invitation, 204),
    ]
    for actor, invitation, expected in revokes:
        response = await api.delete(f"{path}/{invitation['id']}", headers=headers[actor])
        assert response.status_code == expected, (actor, invitation["role"], response.text)


async def test_invitation_rejects_api_keys(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "keys-owner@example.org")
    created = await api.post(
        "/api-keys", json={"name": "ci", "scopes": ["monitors:write"]}, headers=owner.headers
    )
    key_headers = {"Authorization": f"Bearer {created.json()['key']}"}

    response = await api.post(
        _path(owner.organization_id), json={"email": "k@example.org"}, headers=key_headers
    )

    assert response.status_code == 403
    assert "API keys" in response.json()["detail"]


async def test_invitation_of_member_conflicts(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "dup-owner@example.org")
    await join(api, owner, "already@example.org", "viewer")

    member = await api.post(
        _path(owner.organization_id), json={"email": "Already@example.org"}, headers=owner.headers
    )
    self_invite = await api.post(
        _path(owner.organization_id),
        json={"email": "dup-owner@example.org"},
        headers=owner.headers,
    )

    assert member.status_code == 409
    assert member.headers["content-type"] == "application/problem+json"
    assert member.json()["detail"] == "already@example.org is already a member of this organisation"
    assert self_invite.status_code == 409
    assert await _pending_emails(api, owner) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "role": "member"}, "email"),
        ({"email": "ok@example.org", "role": "boss"}, "role"),
        ({"role": "member"}, "email"),
        ({"email": "ok@example.org", "extra": 1}, "extra"),
    ],
    ids=["bad-email", "bad-role", "missing-email", "unknown-field"],
)
async def test_invitation_invalid_input(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    owner = await new_tenant(api, "input-owner@example.org")

    response = await api.post(_path(owner.organization_id), json=body, headers=owner.headers)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await _pending_emails(api, owner) == []


async def test_invitation_other_tenant_gets_404(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "inv-victim@example.org")
    intruder = await new_tenant(api, "inv-attacker@example.org")
    invitation = await _invite(api, owner, "target@example.org")
    own = await _invite(api, intruder, "friend@example.org")
    victim_path = _path(owner.organization_id)
    intruder_path = _path(intruder.organization_id)

    attempts = [
        ("GET", victim_path, None),
        ("POST", victim_path, {"email": "spy@example.org", "role": "viewer"}),
        ("DELETE", f"{victim_path}/{invitation['id']}", None),
        # The other organisation's invitation id under the intruder's own organisation.
        ("DELETE", f"{intruder_path}/{invitation['id']}", None),
        ("DELETE", f"{intruder_path}/{uuid.uuid4()}", None),
    ]
    for method, path, body in attempts:
        response = await api.request(method, path, json=body, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.status_code)

    # Revoking the intruder's own invitation under the victim's path fails too.
    cross = await api.delete(f"{victim_path}/{own['id']}", headers=owner.headers)
    assert cross.status_code == 404
    assert await _pending_emails(api, owner) == ["target@example.org"]
    assert await _pending_emails(api, intruder) == ["friend@example.org"]


async def test_invitation_expired(api: httpx.AsyncClient, database_url: str) -> None:
    owner = await new_tenant(api, "expiry-owner@example.org")
    dave = await sign_up(api, "dave@example.org")
    invitation = await _invite(api, owner, "dave@example.org")
    expired = await _invite(api, owner, "erin@example.org")
    connection = await asyncpg.connect(database_url)
    await connection.execute(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = ANY($1)",
        [uuid.UUID(invitation["id"]), uuid.UUID(expired["id"])],
    )
    await connection.close()

    accepted = await api.post(
        "/invitations/accept", json={"token": _token(invitation)}, headers=dave
    )
    registered = await api.post(
        "/auth/register",
        json={
            "email": "erin@example.org",
            "password": PASSWORD,
            "invitation_token": _token(expired),
        },
    )

    assert accepted.status_code == 410
    assert accepted.headers["content-type"] == "application/problem+json"
    assert "expired" in accepted.json()["detail"]
    assert owner.organization_id not in await _roles(api, dave)
    assert registered.status_code == 410
    assert (await _login(api, "erin@example.org")).status_code == 401
    assert await _pending_emails(api, owner) == []


async def test_invitation_revoked(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "revoke-owner@example.org")
    frank = await sign_up(api, "frank@example.org")
    invitation = await _invite(api, owner, "frank@example.org")
    path = f"{_path(owner.organization_id)}/{invitation['id']}"

    revoked = await api.delete(path, headers=owner.headers)
    revoked_again = await api.delete(path, headers=owner.headers)
    accepted = await api.post(
        "/invitations/accept", json={"token": _token(invitation)}, headers=frank
    )

    assert revoked.status_code == 204
    assert revoked_again.status_code == 204
    assert accepted.status_code == 410
    assert "revoked" in accepted.json()["detail"]
    assert await _pending_emails(api, owner) == []
    assert owner.organization_id not in await _roles(api, frank)


async def test_invitation_accepted_cannot_be_revoked(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "done-owner@example.org")
    gina = await sign_up(api, "gina@example.org")
    invitation = await _invite(api, owner, "gina@example.org")
    await api.post("/invitations/accept", json={"token": _token(invitation)}, headers=gina)

    revoked = await api.delete(
        f"{_path(owner.organization_id)}/{invitation['id']}", headers=owner.headers
    )

    assert revoked.status_code == 409
    assert "remove the member" in revoked.json()["detail"]


async def test_invitation_email_mismatch(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "mismatch-owner@example.org")
    mallory = await sign_up(api, "mallory@example.org")
    invitation = await _invite(api, owner, "heidi@example.org")

    accepted = await api.post(
        "/invitations/accept", json={"token": _token(invitation)}, headers=mallory
    )
    registered = await api.post(
        "/auth/register",
        json={
            "email": "trudy@example.org",
            "password": PASSWORD,
            "invitation_token": _token(invitation),
        },
    )

    assert accepted.status_code == 403
    assert accepted.headers["content-type"] == "application/problem+json"
    assert "heidi@example.org" in accepted.json()["detail"]
    assert "mallory@example.org" in accepted.json()["detail"]
    assert registered.status_code == 403
    assert (await _login(api, "trudy@example.org")).status_code == 401
    assert owner.organization_id not in await _roles(api, mallory)
    assert await _pending_emails(api, owner) == ["heidi@example.org"]


async def test_invitation_unknown_token(api: httpx.AsyncClient) -> None:
    ivan = await sign_up(api, "ivan@example.org")

    accepted = await api.post("/invitations/accept", json={"token": "no-such-token"}, headers=ivan)
    empty = await api.post("/invitations/accept", json={"token": ""}, headers=ivan)
    anonymous = await api.post("/invitations/accept", json={"token": "no-such-token"})

    assert accepted.status_code == 404
    assert "token" in accepted.json()["detail"]
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "token"
    assert anonymous.status_code == 401


async def test_register_with_invitation(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "reg-owner@example.org")
    joining = await _invite(api, owner, "judy@example.org", "viewer")
    with_own = await _invite(api, owner, "kim@example.org", "member")

    judy = await api.post(
        "/auth/register",
        json={
            "email": "Judy@example.org",
            "password": PASSWORD,
            "invitation_token": _token(joining),
        },
    )
    kim = await api.post(
        "/auth/register",
        json={
            "email": "kim@example.org",
            "password": PASSWORD,
            "organization_name": "Kim's lab",
            "invitation_token": _token(with_own),
        },
    )
    judy_login = await _login(api, "judy@example.org")
    kim_login = await _login(api, "kim@example.org")
    judy_roles = await _roles(api, {"Authorization": f"Bearer {judy_login.json()['access_token']}"})
    kim_roles = await _roles(api, {"Authorization": f"Bearer {kim_login.json()['access_token']}"})

    assert judy.status_code == 201, judy.text
    assert judy_roles == {owner.organization_id: "viewer"}
    assert kim.status_code == 201, kim.text
    assert kim_roles[owner.organization_id] == "member"
    assert sorted(kim_roles.values()) == ["member", "owner"]
    assert await _pending_emails(api, owner) == []


async def test_register_invitation_existing_account(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "reg2-owner@example.org")
    await sign_up(api, "liam@example.org")
    invitation = await _invite(api, owner, "liam@example.org")

    registered = await api.post(
        "/auth/register",
        json={
            "email": "liam@example.org",
            "password": PASSWORD,
            "invitation_token": _token(invitation),
        },
    )
    unknown = await api.post(
        "/auth/register",
        json={"email": "mia@example.org", "password": PASSWORD, "invitation_token": "nope"},
    )

    assert registered.status_code == 409
    assert "accept the invitation" in registered.json()["detail"]
    assert await _pending_emails(api, owner) == ["liam@example.org"]
    assert unknown.status_code == 404
    assert (await _login(api, "mia@example.org")).status_code == 401


async def test_invitation_accepted_twice_at_once(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "race-owner@example.org")
    nina = await sign_up(api, "nina@example.org")
    invitation = await _invite(api, owner, "nina@example.org")
    body = {"token": _token(invitation)}

    responses = await asyncio.gather(
        *(api.post("/invitations/accept", json=body, headers=nina) for _ in range(4))
    )
    members = await api.get(
        f"/organizations/{owner.organization_id}/members", headers=owner.headers
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 200
    assert set(statuses) <= {200, 409}
    emails = [m["email"] for m in members.json()["items"]]
    assert emails.count("nina@example.org") == 1


async def test_invitation_used_after_leaving(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "leave-inv-owner@example.org")
    oscar = await sign_up(api, "oscar@example.org")
    invitation = await _invite(api, owner, "oscar@example.org")
    await api.post("/invitations/accept", json={"token": _token(invitation)}, headers=oscar)
    oscar_id = (await api.get("/auth/me", headers=oscar)).json()["id"]
    await api.delete(f"/organizations/{owner.organization_id}/members/{oscar_id}", headers=oscar)

    again = await api.post("/invitations/accept", json={"token": _token(invitation)}, headers=oscar)

    assert again.status_code == 410
    assert "already used" in again.json()["detail"]
    assert owner.organization_id not in await _roles(api, oscar)


async def test_member_added_directly_closes_invitation(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "direct-owner@example.org")
    pat = await sign_up(api, "pat@example.org")
    invitation = await _invite(api, owner, "pat@example.org", "admin")

    added = await api.post(
        f"/organizations/{owner.organization_id}/members",
        json={"email": "pat@example.org", "role": "viewer"},
        headers=owner.headers,
    )
    accepted = await api.post(
        "/invitations/accept", json={"token": _token(invitation)}, headers=pat
    )

    assert added.status_code == 201
    assert await _pending_emails(api, owner) == []
    assert accepted.status_code == 410
    assert (await _roles(api, pat))[owner.organization_id] == "viewer"


async def test_invitation_rate_limited(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_PER_WINDOW", 2)
    owner = await new_tenant(api, "rate-owner@example.org")
    other = await new_tenant(api, "rate-other@example.org")

    for index in range(2):
        await _invite(api, owner, f"rate-{index}@example.org")
    limited = await api.post(
        _path(owner.organization_id), json={"email": "rate-2@example.org"}, headers=owner.headers
    )
    other_org = await api.post(
        _path(other.organization_id), json={"email": "rate-2@example.org"}, headers=other.headers
    )

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == str(service.RATE_WINDOW_S)
    assert other_org.status_code == 201
    assert await _pending_emails(api, owner) == ["rate-0@example.org", "rate-1@example.org"]


async def test_invitation_list_pages(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "page-owner@example.org")
    for index in range(3):
        await _invite(api, owner, f"page-{index}@example.org")
    path = _path(owner.organization_id)

    first = (
        await api.get(path, params={"limit": 2, "sort": "email"}, headers=owner.headers)
    ).json()
    second = await api.get(
        path,
        params={"limit": 2, "sort": "email", "cursor": first["next_cursor"]},
        headers=owner.headers,
    )
    bad_sort = await api.get(path, params={"sort": "token_hash"}, headers=owner.headers)

    assert [item["email"] for item in first["items"]] == [
        "page-0@example.org",
        "page-1@example.org",
    ]
    assert [item["email"] for item in second.json()["items"]] == ["page-2@example.org"]
    assert second.json()["next_cursor"] is None
    assert bad_sort.status_code == 422
    assert bad_sort.json()["errors"][0]["field"] == "sort"
