"""REST endpoints of alerting: monitor fields, incidents, channels, maintenance."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

MONITOR = {"name": "site", "url": "http://127.0.0.1:9/", "regions": ["ap", "eu", "us"]}


async def test_monitor_alert_fields_round_trip(client) -> None:  # type: ignore[no-untyped-def]
    parent = (await client.post("/monitors", json=MONITOR)).json()
    body = {
        **MONITOR,
        "quorum": "all",
        "parent_id": parent["id"],
        "alerting": {"down_after": 3, "failures_in_window": 3, "window_size": 5},
    }

    created = await client.post("/monitors", json=body)

    assert created.status_code == 201, created.text
    data = created.json()
    assert data["quorum"] == 32
    assert data["parent_id"] == parent["id"]
    assert data["alerting"]["down_after"] == 3
    assert data["alerting"]["up_after"] == 1
    patched = await client.patch(f"/monitors/{data['id']}", json={"quorum": "any"})
    assert patched.json()["quorum"] == 1
    assert patched.json()["alerting"]["window_size"] == 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alerting": {"failures_in_window": 2}}, "alerting"),
        ({"alerting": {"up_after": 0}}, "alerting.up_after"),
        ({"parent_id": str(uuid.uuid4())}, "parent_id"),
        ({"alerting": {"escalation_channel_id": str(uuid.uuid4())}}, "alerting.escalation"),
        ({"quorum": "most"}, "quorum"),
    ],
    ids=["half-window", "zero-up-after", "unknown-parent", "unknown-channel", "bad-quorum"],
)
async def test_monitor_alert_fields_rejected(client, change: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/monitors", json={**MONITOR, **change})

    assert response.status_code == 422
    assert field in response.text


async def test_parent_cycle_rejected(client) -> None:  # type: ignore[no-untyped-def]
    first = (await client.post("/monitors", json=MONITOR)).json()
    second = (await client.post("/monitors", json={**MONITOR, "parent_id": first["id"]})).json()

    response = await client.patch(f"/monitors/{first['id']}", json={"parent_id": second["id"]})

    assert response.status_code == 422
    assert "itself" in response.text


async def test_channel_test_route(client, receiver) -> None:  # type: ignore[no-untyped-def]
    created = await client.post(
        "/channels", json={"kind": "webhook", "name": "hook", "config": {"url": receiver.url}}
    )
    channel_id = created.json()["id"]

    sent = await client.post(f"/channels/{channel_id}/test")
    receiver.statuses = [500]
    failed = await client.post(f"/channels/{channel_id}/test")

    assert sent.json() == {"is_delivered": True, "error": None}
    assert failed.json()["is_delivered"] is False
    assert "500" in failed.json()["error"]
    assert receiver.events() == ["test", "test"]


async def test_incident_ack_updates_timeline(client, world) -> None:  # type: ignore[no-untyped-def]
    monitor_id = (await client.post("/monitors", json={**MONITOR, "regions": ["eu"]})).json()["id"]
    await world.feed(uuid.UUID(monitor_id), "eu", "dd")
    await world.step(uuid.UUID(monitor_id))
    (incident,) = (await client.get("/incidents")).json()["items"]

    acked = await client.post(f"/incidents/{incident['id']}/acknowledge")
    posted = await client.post(
        f"/incidents/{incident['id']}/updates", json={"message": "restarting the database"}
    )
    detail = (await client.get(f"/incidents/{incident['id']}")).json()

    assert acked.json()["acknowledged_at"] is not None
    assert posted.status_code == 201
    kinds = [entry["kind"] for entry in detail["timeline"]]
    assert "region_change" in kinds
    assert {"opened", "notified", "acknowledged", "update"} <= set(kinds)
    assert detail["first_errors"] == {"eu": "connection refused in eu"}


async def test_maintenance_window_intervals(client) -> None:  # type: ignore[no-untyped-def]
    monitor_id = (await client.post("/monitors", json=MONITOR)).json()["id"]
    created = await client.post(
        "/maintenance-windows",
        json={
            "name": "nightly",
            "monitor_ids": [monitor_id],
            "timezone": "Europe/Berlin",
            "starts_at_local": "2026-03-27T02:30:00",
            "duration_s": 1800,
            "recurrence": "daily",
        },
    )
    assert created.status_code == 201, created.text

    response = await client.get(
        f"/monitors/{monitor_id}/maintenance",
        params={"since": "2026-03-27T00:00:00Z", "until": "2026-03-30T00:00:00Z"},
    )

    # 02:30 CET is 01:30 UTC; after the switch to CEST on 29 March, 00:30 UTC.
    # On the switch night 02:30 does not exist and zoneinfo reads it as CET.
    starts = [item["start"] for item in response.json()]
    assert starts == [
        "2026-03-27T01:30:00Z",
        "2026-03-28T01:30:00Z",
        "2026-03-29T01:30:00Z",
    ]
    listed = (await client.get("/maintenance-windows")).json()["items"]
    assert [item["name"] for item in listed] == ["nightly"]


async def test_maintenance_window_rejects_bad_zone(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/maintenance-windows",
        json={
            "name": "x",
            "timezone": "Mars/Olympus",
            "starts_at_local": "2026-03-27T02:30:00",
            "duration_s": 600,
        },
    )

    assert response.status_code == 422
    assert "time zone" in response.text


def test_daylight_saving_keeps_wall_clock() -> None:
    from mometrics_control.alerting.maintenance import occurrences
    from mometrics_control.alerting.models import MaintenanceWindow

    window = MaintenanceWindow(
        timezone="Europe/Berlin",
        starts_at_local=dt.datetime(2026, 3, 28, 9, 0),
        duration_s=600,
        recurrence="daily",
    )
    found = occurrences(
        window, dt.datetime(2026, 3, 28, tzinfo=dt.UTC), dt.datetime(2026, 3, 30, tzinfo=dt.UTC)
    )

    assert [start.hour for start, _ in found] == [8, 7]
