"""Test now: the API runs a monitor once through the gateway and real agents.

The API app, a gateway on an ephemeral port and probe agents in two regions
all run in this process, against a local aiohttp target.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings
from tests.api.conftest import Tenant, join, new_tenant
from tests.gateway.conftest import (
    Gateways,
    ProbeAgentRun,
    RawAgent,
    eventually,
    open_raw,
)

SECRET = "s3cret-bearer-value-never-logged"


@pytest.fixture
async def api(control_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield client


@pytest.fixture
async def target() -> AsyncIterator[tuple[str, list[str]]]:
    """Serve 200 "ok" on loopback; return the URL and the Authorization headers seen."""
    seen: list[str] = []

    async def health(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/health", seen
    await runner.cleanup()


@dataclasses.dataclass
class Stack:
    owner: Tenant
    # region -> agent id
    agent_ids: dict[str, str]
    runs: dict[str, ProbeAgentRun]
    gateway_port: int


async def _register(api: httpx.AsyncClient, owner: Tenant, region: str) -> tuple[str, str]:
    created = await api.post(
        "/agents", json={"name": region, "region": region}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["token"]


@pytest.fixture
async def stack(
    api: httpx.AsyncClient,
    gateways: Gateways,
    probe_agents: Callable[..., ProbeAgentRun],
) -> Stack:
    """An organisation with a real agent in eu-west and one in us-east, both connected."""
    owner = await new_tenant(api, "owner@example.org")
    server = await gateways.start()
    agent_ids = {}
    runs = {}
    for region in ("eu-west", "us-east"):
        agent_id, token = await _register(api, owner, region)
        agent_ids[region] = agent_id
        runs[region] = probe_agents(server.port, token, region)
    for region, run in runs.items():
        await eventually(lambda run=run: run.agent.client.connected, 10, f"{region} agent")
    return Stack(owner, agent_ids, runs, server.port)


def _free_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _draft(url: str, regions: list[str], **fields: Any) -> dict[str, Any]:
    return {"name": "draft", "url": url, "timeout_seconds": 5, "regions": regions, **fields}


async def test_saved_monitor_up_in_both_regions(
    api: httpx.AsyncClient,
    stack: Stack,
    target: tuple[str, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a saved monitor with a secret header, checked once a day
    caplog.set_level(logging.DEBUG)
    url, seen = target
    created = await api.post(
        "/monitors",
        json={
            "name": "health",
            "url": url,
            "interval_seconds": 86_400,
            "timeout_seconds": 5,
            "regions": ["eu-west", "us-east"],
            "options": {"headers": {"Authorization": f"Bearer {SECRET}"}},
        },
        headers=stack.owner.headers,
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]

    # When it is tested now
    response = await api.post(f"/monitors/{monitor_id}/test", headers=stack.owner.headers)

    # Then both regions report it up, with phases, from their own agent
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == []
    assert [r["region"] for r in body["results"]] == ["eu-west", "us-east"]
    for result in body["results"]:
        assert result["status"] == "up", result
        assert result["agent_id"] == stack.agent_ids[result["region"]]
        assert result["status_code"] == 200
        assert result["error_class"] is None
        assert result["latency_ms"] > 0
        assert result["phases"]["first_byte_ms"] > 0
        assert result["phases"]["tls_ms"] is None
        assert set(result["phases"]) == {
            "dns_ms",
            "connect_ms",
            "tls_ms",
            "first_byte_ms",
            "transfer_ms",
        }
        assert result["started_at"]
    assert seen == [f"Bearer {SECRET}"] * 2

    # And the runs were neither spooled nor stored
    for run in stack.runs.values():
        assert run.agent.spool.size == 0
    stored = await api.get(f"/monitors/{monitor_id}/results", headers=stack.owner.headers)
    assert stored.status_code == 200, stored.text
    assert stored.json()["items"] == []

    # And no log record carries the secret header
    leaks = [r.name for r in caplog.records if SECRET in f"{r.getMessage()} {r.__dict__}"]
    assert leaks == []
    assert any(getattr(r, "request_id", None) for r in caplog.records)


async def test_draft_closed_port_down_with_connect(api: httpx.AsyncClient, stack: Stack) -> None:
    url = f"http://127.0.0.1:{_free_port()}/"

    response = await api.post(
        "/monitors/test", json=_draft(url, ["eu-west", "us-east"]), headers=stack.owner.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == []
    assert len(body["results"]) == 2
    for result in body["results"]:
        assert result["status"] == "down", result
        assert result["error_class"] == "connect"
        assert result["error_message"]
        assert result["status_code"] is None
    listed = await api.get("/monitors", headers=stack.owner.headers)
    assert listed.json()["items"] == [], "a draft must not be saved"


async def test_region_without_agent_no_coverage(
    api: httpx.AsyncClient, stack: Stack, target: tuple[str, list[str]]
) -> None:
    url, _ = target

    response = await api.post(
        "/monitors/test", json=_draft(url, ["eu-west", "sa-east"]), headers=stack.owner.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["region"], r["status"]) for r in body["results"]] == [("eu-west", "up")]
    assert body["missing"] == [{"region": "sa-east", "reason": "no_coverage"}]


async def test_other_organisations_agents_not_used(
    api: httpx.AsyncClient, stack: Stack, target: tuple[str, list[str]]
) -> None:
    # Given agents that the first organisation registered
    other = await new_tenant(api, "other@example.org")
    url, seen = target

    # When another organisation tests a draft in their regions
    response = await api.post(
        "/monitors/test", json=_draft(url, ["eu-west", "us-east"]), headers=other.headers
    )

    # Then no agent of the first organisation runs it
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [],
        "missing": [
            {"region": "eu-west", "reason": "no_coverage"},
            {"region": "us-east", "reason": "no_coverage"},
        ],
    }
    assert seen == []


async def test_silent_agent_timed_out(
    api: httpx.AsyncClient,
    stack: Stack,
    raw_agents: list[RawAgent],
    target: tuple[str, list[str]],
) -> None:
    # Given an agent in ap-south that never answers RunCheck, like an old agent
    agent_id, token = await _register(api, stack.owner, "ap-south")
    silent = await open_raw(raw_agents, stack.gateway_port, agent_id, token, "ap-south")
    url, _ = target

    # When a draft is tested there and in eu-west
    response = await api.post(
        "/monitors/test",
        json=_draft(url, ["ap-south", "eu-west"], timeout_seconds=0.5),
        headers=stack.owner.headers,
    )

    # Then eu-west answers, ap-south times out, and the silent stream survives
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["region"], r["status"]) for r in body["results"]] == [("eu-west", "up")]
    assert body["missing"] == [{"region": "ap-south", "reason": "timed_out"}]
    requests = [m.run_check for m in silent.messages if m.WhichOneof("body") == "run_check"]
    assert len(requests) == 1
    assert requests[0].check.target == url
    assert requests[0].check.monitor_id == ""
    assert not silent.ended.is_set()
    assert silent.drained is None


async def test_agent_on_other_replica_replies(
    api: httpx.AsyncClient,
    stack: Stack,
    gateways: Gateways,
    probe_agents: Callable[..., ProbeAgentRun],
    target: tuple[str, list[str]],
) -> None:
    # Given a second gateway replica with the only agent of ap-south
    replica = await gateways.start()
    agent_id, token = await _register(api, stack.owner, "ap-south")
    run = probe_agents(replica.port, token, "ap-south")
    await eventually(lambda: run.agent.client.connected, 10, "ap-south agent")
    url, _ = target

    # When a draft is tested in ap-south and in eu-west, whose agent is on the first replica
    response = await api.post(
        "/monitors/test", json=_draft(url, ["ap-south", "eu-west"]), headers=stack.owner.headers
    )

    # Then each replica forwards the request of its own agent
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == []
    assert [(r["region"], r["status"]) for r in body["results"]] == [
        ("ap-south", "up"),
        ("eu-west", "up"),
    ]
    assert body["results"][0]["agent_id"] == agent_id


# Access rules and input checks, which need no gateway.


async def test_viewer_forbidden(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "owner@example.org")
    viewer = await join(api, owner, "viewer@example.org", "viewer")
    draft = _draft("http://127.0.0.1:9/", ["eu-west"])

    response = await api.post("/monitors/test", json=draft, headers=viewer)

    assert response.status_code == 403, response.text
    assert "member" in response.json()["detail"]


async def test_api_key_needs_monitors_write(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "owner@example.org")
    draft = _draft("http://127.0.0.1:9/", ["eu-west"])
    keys = {}
    for scope in ("monitors:read", "monitors:write"):
        created = await api.post(
            "/api-keys", json={"name": scope, "scopes": [scope]}, headers=owner.headers
        )
        assert created.status_code == 201, created.text
        keys[scope] = {"Authorization": f"Bearer {created.json()['key']}"}

    read_only = await api.post("/monitors/test", json=draft, headers=keys["monitors:read"])
    writer = await api.post("/monitors/test", json=draft, headers=keys["monitors:write"])

    assert read_only.status_code == 403, read_only.text
    assert "monitors:write" in read_only.json()["detail"]
    assert writer.status_code == 200, writer.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "ftp://127.0.0.1/"}, "url"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"interval_seconds": 10, "timeout_seconds": 20}, "timeout_seconds"),
        ({"regions": []}, "regions"),
        ({"options": {"method": "BREW"}}, "options.method"),
        ({"kind": "push", "url": None, "regions": []}, "kind"),
        ({"channel_ids": [str(uuid.UUID(int=1))]}, "channel_ids"),
    ],
    ids=[
        "scheme",
        "timeout-range",
        "timeout-over-interval",
        "no-region",
        "option",
        "push",
        "channel",
    ],
)
async def test_bad_draft_names_field(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    owner = await new_tenant(api, "owner@example.org")
    draft = {**_draft("http://127.0.0.1:9/", ["eu-west"]), **changes}

    response = await api.post("/monitors/test", json=draft, headers=owner.headers)

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_private_target_rejected_when_off(
    control_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMETRICS_ALLOW_PRIVATE_TARGETS", "false")
    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as strict:
            owner = await new_tenant(strict, "owner@example.org")
            draft = _draft("http://127.0.0.1:9/", ["eu-west"])

            response = await strict.post("/monitors/test", json=draft, headers=owner.headers)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert "internal" in response.json()["errors"][0]["message"]


async def test_other_tenants_monitor_not_found(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "owner@example.org")
    other = await new_tenant(api, "other@example.org")
    created = await api.post(
        "/monitors", json=_draft("http://127.0.0.1:9/", ["eu-west"]), headers=owner.headers
    )
    assert created.status_code == 201, created.text

    response = await api.post(f"/monitors/{created.json()['id']}/test", headers=other.headers)

    assert response.status_code == 404, response.text


async def test_push_monitor_has_nothing_to_run(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "owner@example.org")
    created = await api.post(
        "/monitors", json={"name": "backup", "kind": "push"}, headers=owner.headers
    )
    assert created.status_code == 201, created.text

    response = await api.post(f"/monitors/{created.json()['id']}/test", headers=owner.headers)

    assert response.status_code == 409, response.text


async def test_runs_rate_limited_per_organisation(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "owner@example.org")
    other = await new_tenant(api, "other@example.org")
    # No agent runs in this region, so each run returns at once.
    draft = _draft("http://127.0.0.1:9/", ["sa-east"])

    statuses = [
        (await api.post("/monitors/test", json=draft, headers=owner.headers)).status_code
        for _ in range(11)
    ]
    limited = await api.post("/monitors/test", json=draft, headers=owner.headers)
    other_org = await api.post("/monitors/test", json=draft, headers=other.headers)

    assert statuses == [200] * 10 + [429]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert other_org.status_code == 200, other_org.text
