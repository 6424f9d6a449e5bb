from __future__ import annotations

import datetime as dt

import httpx
import jwt

from mometrics_control.config import DEV_JWT_SECRET
from tests.control_plane.conftest import sign_up


async def test_register_login_me(api: httpx.AsyncClient) -> None:
    headers = await sign_up(api, "Ada@Example.org")

    response = await api.get("/auth/me", headers=headers)

    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.org"
    assert response.json()["organizations"][0]["role"] == "owner"


async def test_register_duplicate_email_conflicts(api: httpx.AsyncClient) -> None:
    await sign_up(api, "bob@example.org")

    response = await api.post(
        "/auth/register", json={"email": "BOB@example.org", "password": "another-pass"}
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_register_short_password_names_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/auth/register", json={"email": "c@example.org", "password": "x"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"


async def test_login_wrong_password_401(api: httpx.AsyncClient) -> None:
    await sign_up(api, "dan@example.org")

    response = await api.post(
        "/auth/login", json={"email": "dan@example.org", "password": "nope-nope"}
    )

    assert response.status_code == 401


async def test_login_rate_limited_per_account(api: httpx.AsyncClient) -> None:
    await sign_up(api, "eve@example.org")
    statuses = []
    for _ in range(12):
        response = await api.post(
            "/auth/login", json={"email": "eve@example.org", "password": "wrong-pass"}
        )
        statuses.append(response.status_code)

    assert statuses[-1] == 429
    assert "Retry-After" in response.headers


def _forge(claims: dict[str, object], key: str = DEV_JWT_SECRET, alg: str = "HS256") -> str:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, object] = {
        "sub": "00000000-0000-0000-0000-000000000000",
        "iss": "mometrics",
        "aud": "mometrics-api",
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    base.update(claims)
    return jwt.encode(base, key, algorithm=alg)


async def test_jwt_attacks_rejected(api: httpx.AsyncClient) -> None:
    headers = await sign_up(api, "fay@example.org")
    me = (await api.get("/auth/me", headers=headers)).json()
    now = dt.datetime.now(dt.UTC)
    header_b64 = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
    valid = headers["Authorization"].split()[1]
    cases = {
        "alg none": header_b64 + "." + valid.split(".")[1] + ".",
        "wrong signature": _forge({"sub": me["id"]}, key="x" * 40),
        "expired": _forge({"sub": me["id"], "exp": now - dt.timedelta(minutes=1)}),
        "not yet valid": _forge({"sub": me["id"], "nbf": now + dt.timedelta(minutes=5)}),
        "wrong audience": _forge({"sub": me["id"], "aud": "other"}),
        "wrong issuer": _forge({"sub": me["id"], "iss": "other"}),
    }
    for name, token in cases.items():
        response = await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name


async def test_refresh_rotates_and_reuse_revokes_family(api: httpx.AsyncClient) -> None:
    await sign_up(api, "gus@example.org")
    login = await api.post(
        "/auth/login", json={"email": "gus@example.org", "password": "s3cret-pass"}
    )
    first = login.json()["refresh_token"]

    rotated = await api.post("/auth/refresh", json={"refresh_token": first})
    reused = await api.post("/auth/refresh", json={"refresh_token": first})
    after_reuse = await api.post(
        "/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first
    assert reused.status_code == 401
    assert after_reuse.status_code == 401


async def test_logout_revokes_refresh_token(api: httpx.AsyncClient) -> None:
    await sign_up(api, "hal@example.org")
    login = await api.post(
        "/auth/login", json={"email": "hal@example.org", "password": "s3cret-pass"}
    )
    token = login.json()["refresh_token"]

    logout = await api.post("/auth/logout", json={"refresh_token": token})
    refresh = await api.post("/auth/refresh", json={"refresh_token": token})

    assert logout.status_code == 204
    assert refresh.status_code == 401
