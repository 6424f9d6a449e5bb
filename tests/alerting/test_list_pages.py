"""Cursor pages and filters of the incident and channel lists."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

MONITOR = {"name": "site", "url": "http://127.0.0.1:9/", "regions": ["eu"]}


async def all_pages(client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:  # type: ignore[no-untyped-def]
    """Follow next_cursor to the end; return every item and the number of pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    for pages in range(1, 100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
    raise AssertionError("next_cursor never became null")


async def test_channels_paged_by_name(client) -> None:  # type: ignore[no-untyped-def]
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    for name in names:
        created = await client.post(
            "/channels", json={"kind": "webhook", "name": name, "config": {"url": "http://x.test"}}
        )
        assert created.status_code == 201

    items, pages = await all_pages(client, "/channels", limit=2)
    newest_first, _ = await all_pages(client, "/channels", limit=3, sort="-created_at")

    assert [c["name"] for c in items] == sorted(names)
    assert pages == 3
    assert [c["name"] for c in newest_first] == list(reversed(names))


async def open_incidents(client, world, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Create `count` monitors, each with one open incident; return the monitor ids."""
    monitor_ids = []
    for index in range(count):
        body = {**MONITOR, "name": f"site {index}"}
        monitor_id = (await client.post("/monitors", json=body)).json()["id"]
        await world.feed(uuid.UUID(monitor_id), "eu", "dd")
        await world.step(uuid.UUID(monitor_id))
        monitor_ids.append(monitor_id)
    return monitor_ids


async def test_incidents_paged_newest_first(client, world) -> None:  # type: ignore[no-untyped-def]
    await open_incidents(client, world, 5)

    items, pages = await all_pages(client, "/incidents", limit=2)
    oldest_first, _ = await all_pages(client, "/incidents", limit=2, sort="opened_at")

    opened = [i["opened_at"] for i in items]
    assert len(items) == 5
    assert len({i["id"] for i in items}) == 5
    assert pages == 3
    assert opened == sorted(opened, reverse=True)
    assert [i["id"] for i in oldest_first] == [i["id"] for i in reversed(items)]


async def test_incident_filters(client, world) -> None:  # type: ignore[no-untyped-def]
    first, second, third = await open_incidents(client, world, 3)
    await world.feed(uuid.UUID(first), "eu", "u")
    await world.step(uuid.UUID(first))
    by_monitor = {i["monitor_id"]: i for i in (await client.get("/incidents")).json()["items"]}
    acked = await client.post(f"/incidents/{by_monitor[second]['id']}/acknowledge")
    assert acked.status_code == 200
    closed_at = dt.datetime.fromisoformat(
        (await client.get("/incidents", params={"monitor_id": first})).json()["items"][0][
            "closed_at"
        ]
    )

    async def monitors_of(**params: Any) -> set[str]:
        response = await client.get("/incidents", params=params)
        assert response.status_code == 200, response.text
        return {i["monitor_id"] for i in response.json()["items"]}

    assert await monitors_of(status="open") == {second, third}
    assert await monitors_of(status="resolved") == {first}
    assert await monitors_of(acknowledged="true") == {second}
    assert await monitors_of(acknowledged="false") == {first, third}
    assert await monitors_of(monitor_id=third) == {third}
    assert await monitors_of(monitor_id=str(uuid.uuid4())) == set()
    after_close = (closed_at + dt.timedelta(seconds=1)).isoformat()
    assert await monitors_of(since=after_close) == {second, third}
    assert await monitors_of(since=closed_at.isoformat()) == {first, second, third}
    before_all = (world.start - dt.timedelta(hours=1)).isoformat()
    assert await monitors_of(until=before_all) == set()
    assert await monitors_of(status="open", acknowledged="false") == {third}


# Case id, path, query, the field the error names.
BAD_QUERIES = [
    ("incident-cursor", "/incidents", {"cursor": "not-a-cursor"}, "cursor"),
    ("incident-status", "/incidents", {"status": "closed"}, "status"),
    ("incident-monitor-id", "/incidents", {"monitor_id": "42"}, "monitor_id"),
    ("incident-acknowledged", "/incidents", {"acknowledged": "maybe"}, "acknowledged"),
    ("incident-since-no-offset", "/incidents", {"since": "2026-01-01T00:00:00"}, "since"),
    ("incident-until-not-a-time", "/incidents", {"until": "yesterday"}, "until"),
    (
        "incident-since-after-until",
        "/incidents",
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        "since",
    ),
    ("incident-limit-zero", "/incidents", {"limit": "0"}, "limit"),
    ("incident-limit-too-large", "/incidents", {"limit": "201"}, "limit"),
    ("incident-sort", "/incidents", {"sort": "cause"}, "sort"),
    ("channel-cursor", "/channels", {"cursor": "bm90IGpzb24"}, "cursor"),
    ("channel-sort", "/channels", {"sort": "kind"}, "sort"),
    ("channel-limit", "/channels", {"limit": "-1"}, "limit"),
    ("maintenance-cursor", "/maintenance-windows", {"cursor": "%%%"}, "cursor"),
]


async def test_list_rejects_bad_query(client) -> None:  # type: ignore[no-untyped-def]
    for case, path, params, field in BAD_QUERIES:
        response = await client.get(path, params=params)

        assert response.status_code == 422, f"{case}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json", case
        assert [e["field"] for e in response.json()["errors"]] == [field], case


async def test_cursor_of_another_list_rejected(client, world) -> None:  # type: ignore[no-untyped-def]
    await open_incidents(client, world, 2)
    for name in ("a", "b"):
        await client.post(
            "/channels", json={"kind": "webhook", "name": name, "config": {"url": "http://x.test"}}
        )
    channel_cursor = (await client.get("/channels", params={"limit": 1})).json()["next_cursor"]

    response = await client.get("/incidents", params={"cursor": channel_cursor})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
