"""Maintenance windows over REST: update, its validation, roles and effect."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from mometrics_control.alerting.sweep import sweep
from tests.alerting.conftest import member_headers

MONITOR = {"name": "site", "url": "http://127.0.0.1:9/", "regions": ["eu"]}
WINDOW = {
    "name": "nightly",
    "timezone": "Europe/Berlin",
    "starts_at_local": "2026-03-27T02:30:00",
    "duration_s": 1800,
    "recurrence": "daily",
    "until_local": "2026-04-30T00:00:00",
}


async def create_window(client, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.post("/maintenance-windows", json={**WINDOW, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_patch_changes_only_given_fields(client) -> None:  # type: ignore[no-untyped-def]
    monitor_id = (await client.post("/monitors", json=MONITOR)).json()["id"]
    window = await create_window(client, monitor_ids=[monitor_id])

    response = await client.patch(
        f"/maintenance-windows/{window['id']}",
        json={"name": "weekly upgrade", "recurrence": "weekly", "duration_s": 3600},
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "weekly upgrade"
    assert updated["recurrence"] == "weekly"
    assert updated["duration_s"] == 3600
    assert updated["timezone"] == "Europe/Berlin"
    assert updated["monitor_ids"] == [monitor_id]
    assert updated["starts_at_local"] == "2026-03-27T02:30:00"
    assert (await client.get(f"/maintenance-windows/{window['id']}")).json() == updated
    intervals = await client.get(
        f"/monitors/{monitor_id}/maintenance",
        params={"since": "2026-03-27T00:00:00Z", "until": "2026-04-05T00:00:00Z"},
    )
    # Weekly from Friday 27 March, an hour long; CEST from 29 March.
    assert intervals.json() == [
        {"start": "2026-03-27T01:30:00Z", "end": "2026-03-27T02:30:00Z"},
        {"start": "2026-04-03T00:30:00Z", "end": "2026-04-03T01:30:00Z"},
    ]


async def test_patch_null_until_clears_it(client) -> None:  # type: ignore[no-untyped-def]
    window = await create_window(client)

    response = await client.patch(
        f"/maintenance-windows/{window['id']}", json={"until_local": None}
    )

    assert response.status_code == 200, response.text
    assert response.json()["until_local"] is None


# Case id, the change, the field the error names, part of its message.
BAD_CHANGES = [
    ("unknown-zone", {"timezone": "Mars/Olympus"}, "timezone", "IANA time zone"),
    ("null-zone", {"timezone": None}, "timezone", "cannot be null"),
    ("empty-name", {"name": ""}, "name", "at least 1"),
    ("null-name", {"name": None}, "name", "cannot be null"),
    (
        "start-with-offset",
        {"starts_at_local": "2026-03-27T02:30:00+01:00"},
        "starts_at_local",
        "offset",
    ),
    ("until-with-offset", {"until_local": "2026-05-01T00:00:00Z"}, "until_local", "offset"),
    (
        "until-before-start",
        {"until_local": "2026-03-01T00:00:00"},
        "until_local",
        "after starts_at_local",
    ),
    (
        "start-after-stored-until",
        {"starts_at_local": "2026-05-01T02:30:00"},
        "until_local",
        "after starts_at_local",
    ),
    ("unknown-recurrence", {"recurrence": "yearly"}, "recurrence", "daily"),
    ("short-duration", {"duration_s": 10}, "duration_s", "greater than or equal to 60"),
    ("unknown-monitor", {"monitor_ids": [str(uuid.UUID(int=7))]}, "monitor_ids.0", "not found"),
    ("invalid-monitor-id", {"monitor_ids": ["not-a-uuid"]}, "monitor_ids.0", "UUID"),
    ("unknown-field", {"color": "red"}, "color", "not permitted"),
]


async def test_patch_rejects_bad_input(client) -> None:  # type: ignore[no-untyped-def]
    window = await create_window(client)

    for case, change, field, reason in BAD_CHANGES:
        response = await client.patch(f"/maintenance-windows/{window['id']}", json=change)

        assert response.status_code == 422, f"{case}: {response.text}"
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == [field], case
        assert reason in errors[0]["message"], case
        unchanged = await client.get(f"/maintenance-windows/{window['id']}")
        assert unchanged.json() == window, case


async def test_patch_rejects_other_organisations_monitor(client) -> None:  # type: ignore[no-untyped-def]
    window = await create_window(client)
    other = await member_headers(client, "other@example.org", "owner")
    # The new account's own organisation is its first; use it, not the shared one.
    me = (await client.get("/auth/me", headers={"Authorization": other["Authorization"]})).json()
    own = {
        "Authorization": other["Authorization"],
        "X-Organization-Id": me["organizations"][0]["id"],
    }
    foreign = (await client.post("/monitors", json=MONITOR, headers=own)).json()["id"]

    response = await client.patch(
        f"/maintenance-windows/{window['id']}", json={"monitor_ids": [foreign]}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "monitor_ids.0", "message": f"monitor {foreign} not found"}
    ]


async def test_patch_unknown_window_is_404(client) -> None:  # type: ignore[no-untyped-def]
    missing = uuid.uuid4()

    response = await client.patch(f"/maintenance-windows/{missing}", json={"name": "x"})

    assert response.status_code == 404
    assert str(missing) in response.json()["detail"]


async def test_patch_needs_member_role(client) -> None:  # type: ignore[no-untyped-def]
    window = await create_window(client)
    viewer = await member_headers(client, "viewer@example.org", "viewer")
    member = await member_headers(client, "member@example.org", "member")

    denied = await client.patch(
        f"/maintenance-windows/{window['id']}", json={"name": "x"}, headers=viewer
    )
    allowed = await client.patch(
        f"/maintenance-windows/{window['id']}", json={"name": "y"}, headers=member
    )

    assert denied.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["name"] == "y"


async def test_create_rejects_until_before_start(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/maintenance-windows", json={**WINDOW, "until_local": "2026-03-27T02:30:00"}
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["until_local"]


async def test_ending_window_releases_held_outage(client, world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await client.post(
        "/channels", json={"kind": "webhook", "name": "hook", "config": {"url": receiver.url}}
    )
    body = {**MONITOR, "channel_ids": [channel.json()["id"]]}
    monitor_id = (await client.post("/monitors", json=body)).json()["id"]
    berlin = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    window = await create_window(
        client,
        monitor_ids=[monitor_id],
        recurrence="none",
        until_local=None,
        starts_at_local=(berlin - dt.timedelta(minutes=10)).isoformat(timespec="seconds"),
        duration_s=7200,
    )

    # Given an outage held back by the window
    await world.feed(uuid.UUID(monitor_id), "eu", "dd")
    await world.step(uuid.UUID(monitor_id))
    assert receiver.requests == []

    # When the window is changed to end before now
    ended = await client.patch(
        f"/maintenance-windows/{window['id']}",
        json={"starts_at_local": (berlin - dt.timedelta(hours=3)).isoformat(timespec="seconds")},
    )
    assert ended.status_code == 200, ended.text

    # Then the next sweep sends the outage notice
    await world.deliver_all([str(i) for i in await sweep(world.sessions, dt.datetime.now(dt.UTC))])
    assert receiver.events() == ["down"]
