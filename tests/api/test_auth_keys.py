from __future__ import annotations

import uuid

import httpx
import jwt
import pytest

from mometrics_control.auth import tokens
from mometrics_control.config import ConfigError, load_settings
from mometrics_control.errors import Unauthenticated
from tests.api.conftest import new_tenant


async def test_password_change_revokes_old_tokens(api: httpx.AsyncClient) -> None:
    await new_tenant(api, "pw@example.org")
    first = (
        await api.post("/auth/login", json={"email": "pw@example.org", "password": "s3cret-pass"})
    ).json()
    old_headers = {"Authorization": f"Bearer {first['access_token']}"}

    changed = await api.post(
        "/auth/password",
        json={"current_password": "s3cret-pass", "new_password": "n3w-secret-pass"},
        headers=old_headers,
    )
    new_headers = {"Authorization": f"Bearer {changed.json()['access_token']}"}

    assert changed.status_code == 200, changed.text
    assert (await api.get("/auth/me", headers=old_headers)).status_code == 401
    assert (await api.get("/auth/me", headers=new_headers)).status_code == 200
    refresh = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refresh.status_code == 401
    old_login = await api.post(
        "/auth/login", json={"email": "pw@example.org", "password": "s3cret-pass"}
    )
    assert old_login.status_code == 401
    new_login = await api.post(
        "/auth/login", json={"email": "pw@example.org", "password": "n3w-secret-pass"}
    )
    assert new_login.status_code == 200


async def test_password_change_wrong_current_422(api: httpx.AsyncClient) -> None:
    tenant = await new_tenant(api, "pw2@example.org")

    response = await api.post(
        "/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "n3w-secret-pass"},
        headers=tenant.headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "current_password"


async def test_login_rate_limited_per_client(api: httpx.AsyncClient) -> None:
    statuses = []
    for index in range(51):
        response = await api.post(
            "/auth/login", json={"email": f"nobody{index}@example.org", "password": "whatever1"}
        )
        statuses.append(response.status_code)

    assert set(statuses[:50]) == {401}
    assert statuses[50] == 429
    assert response.headers["Retry-After"] == "300"


def test_key_rotation_signs_new_verifies_old(monkeypatch: pytest.MonkeyPatch) -> None:
    old_key, new_key = "o" * 40, "n" * 40
    monkeypatch.setenv("MOMETRICS_ENV", "production")
    monkeypatch.setenv("MOMETRICS_JWT_KEYS", f"k1:{old_key}")
    before = load_settings()
    old_token = tokens.issue_access_token(before, uuid.uuid4())
    monkeypatch.setenv("MOMETRICS_JWT_KEYS", f"k2:{new_key},k1:{old_key}")
    after = load_settings()

    new_token = tokens.issue_access_token(after, uuid.uuid4())

    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    assert tokens.decode_access_token(after, old_token)["sub"]
    assert tokens.decode_access_token(after, new_token)["sub"]
    monkeypatch.setenv("MOMETRICS_JWT_KEYS", f"k2:{new_key}")
    retired = load_settings()
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        tokens.decode_access_token(retired, old_token)


def test_key_rotation_rejects_bad_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMETRICS_ENV", "production")
    for value in ("k1", "k1:short", f"k1:{'a' * 40},k1:{'b' * 40}", f"bad id:{'a' * 40}"):
        monkeypatch.setenv("MOMETRICS_JWT_KEYS", value)
        with pytest.raises(ConfigError, match="MOMETRICS_JWT_KEYS"):
            load_settings()


async def test_token_with_unknown_kid_401(api: httpx.AsyncClient) -> None:
    tenant = await new_tenant(api, "kid@example.org")
    me = (await api.get("/auth/me", headers=tenant.headers)).json()
    valid = tenant.headers["Authorization"].split()[1]
    claims = jwt.decode(valid, options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "sub": me["id"]}, "x" * 40, algorithm="HS256", headers={"kid": "k9"}
    )

    response = await api.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
