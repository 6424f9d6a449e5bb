from __future__ import annotations

import datetime as dt

import httpx

from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings
from mometrics_control.push.service import check_overdue_push_monitors
from tests.api.conftest import new_tenant

PUSH_MONITOR = {
    "name": "Nightly backup",
    "kind": "push",
    "interval_seconds": 60,
    "options": {"grace_seconds": 30},
}


async def _push_monitor(api: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, str]:
    monitor = (await api.post("/monitors", json=PUSH_MONITOR, headers=headers)).json()
    issued = await api.post(f"/monitors/{monitor['id']}/push-token", headers=headers)
    assert issued.status_code == 200, issued.text
    return monitor["id"], issued.json()["token"]


async def test_push_pings_store_results(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "push@example.org")
    monitor_id, token = await _push_monitor(api, owner.headers)

    up = await api.get(f"/push/{token}")
    down = await api.post(f"/push/{token}", params={"status": "down", "msg": "disk full"})
    unknown = await api.get("/push/not-a-token")
    bad_status = await api.get(f"/push/{token}", params={"status": "sideways"})
    results = await api.get(f"/monitors/{monitor_id}/results", headers=owner.headers)

    assert up.status_code == 200
    assert down.status_code == 200
    assert unknown.status_code == 404
    assert bad_status.status_code == 422
    items = results.json()["items"]
    assert [r["status"] for r in items] == ["down", "up"]
    assert {r["region"] for r in items} == {"push"}
    assert items[0]["error_message"] == "disk full"


async def test_push_token_reissue_retires_old(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "reissue@example.org")
    monitor_id, old_token = await _push_monitor(api, owner.headers)

    await api.post(f"/monitors/{monitor_id}/push-token", headers=owner.headers)

    assert (await api.get(f"/push/{old_token}")).status_code == 404


async def test_push_paused_monitor_rejects_ping(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pushpause@example.org")
    monitor_id, token = await _push_monitor(api, owner.headers)
    await api.post(f"/monitors/{monitor_id}/pause", headers=owner.headers)

    assert (await api.get(f"/push/{token}")).status_code == 409


async def test_push_token_only_for_push_kind(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pushkind@example.org")
    monitor = await api.post(
        "/monitors",
        json={"name": "tcp", "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]},
        headers=owner.headers,
    )

    response = await api.post(f"/monitors/{monitor.json()['id']}/push-token", headers=owner.headers)

    assert response.status_code == 409


async def test_push_timer_survives_restart(control_env: dict[str, str]) -> None:
    # Given a push monitor pinged once through a first app instance
    first_app = create_app(load_settings())
    async with first_app.router.lifespan_context(first_app):
        transport = httpx.ASGITransport(app=first_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as client:
            owner = await new_tenant(client, "restart@example.org")
            monitor_id, token = await _push_monitor(client, owner.headers)
            assert (await client.get(f"/push/{token}")).status_code == 200
            pinged_at = dt.datetime.now(dt.UTC)

    # When a new instance checks for overdue pings after the interval plus grace
    second_app = create_app(load_settings())
    async with second_app.router.lifespan_context(second_app):
        sessionmaker = second_app.state.sessionmaker
        early = await check_overdue_push_monitors(
            sessionmaker, now=pinged_at + dt.timedelta(seconds=80)
        )
        late = await check_overdue_push_monitors(
            sessionmaker, now=pinged_at + dt.timedelta(seconds=95)
        )
        repeated = await check_overdue_push_monitors(
            sessionmaker, now=pinged_at + dt.timedelta(seconds=100)
        )
        next_interval = await check_overdue_push_monitors(
            sessionmaker, now=pinged_at + dt.timedelta(seconds=160)
        )
        transport = httpx.ASGITransport(app=second_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as client:
            results = await client.get(
                f"/monitors/{monitor_id}/results",
                params={"until": (pinged_at + dt.timedelta(hours=1)).isoformat()},
                headers=owner.headers,
            )

    # Then the timer kept the ping time: nothing before the deadline, one
    # down result after it, and one more per further interval
    assert early == 0
    assert late == 1
    assert repeated == 0
    assert next_interval == 1
    items = results.json()["items"]
    assert [r["status"] for r in items] == ["down", "down", "up"]
    assert items[0]["error_class"] == "timeout"


async def test_push_paused_monitor_not_overdue(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pushidle@example.org")
    monitor_id, _ = await _push_monitor(api, owner.headers)
    await api.post(f"/monitors/{monitor_id}/pause", headers=owner.headers)
    sessionmaker = api._transport.app.state.sessionmaker  # type: ignore[attr-defined]

    stored = await check_overdue_push_monitors(
        sessionmaker, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    )

    assert stored == 0
