from __future__ import annotations

import httpx

from mometrics_control.statuspages.badge import format_uptime
from tests.api.conftest import HTTP_MONITOR, new_tenant


async def test_status_page_shows_published_only(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "status@example.org")
    shown = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()
    hidden = (
        await api.post("/monitors", json={**HTTP_MONITOR, "name": "Hidden"}, headers=owner.headers)
    ).json()

    saved = await api.put(
        "/status-page",
        json={"slug": "acme", "title": "Acme status", "monitor_ids": [shown["id"]]},
        headers=owner.headers,
    )
    public = await api.get("/status/acme")
    missing = await api.get("/status/nobody-here")

    assert saved.status_code == 200, saved.text
    assert public.status_code == 200
    assert public.json()["title"] == "Acme status"
    assert [m["name"] for m in public.json()["monitors"]] == ["Home page"]
    assert hidden["id"] not in public.text
    assert shown["id"] not in public.text
    assert missing.status_code == 404


async def test_status_page_keeps_public_ids(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "keepids@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()
    body = {"slug": "keep", "title": "Keep", "monitor_ids": [monitor["id"]]}

    first = (await api.put("/status-page", json=body, headers=owner.headers)).json()
    second = (await api.put("/status-page", json=body, headers=owner.headers)).json()

    assert first["monitors"][0]["public_id"] == second["monitors"][0]["public_id"]


async def test_status_page_slug_taken_409(api: httpx.AsyncClient) -> None:
    first = await new_tenant(api, "slug1@example.org")
    second = await new_tenant(api, "slug2@example.org")
    await api.put("/status-page", json={"slug": "taken", "title": "A"}, headers=first.headers)

    response = await api.put(
        "/status-page", json={"slug": "taken", "title": "B"}, headers=second.headers
    )

    assert response.status_code == 409


async def test_status_page_rejects_other_tenant_monitor(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pub-owner@example.org")
    intruder = await new_tenant(api, "pub-intruder@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()

    response = await api.put(
        "/status-page",
        json={"slug": "steal", "title": "Stolen", "monitor_ids": [monitor["id"]]},
        headers=intruder.headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "monitor_ids"


async def test_badge_for_published_monitor_only(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "badge@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()
    page = await api.put(
        "/status-page",
        json={"slug": "badges", "title": "Badges", "monitor_ids": [monitor["id"]]},
        headers=owner.headers,
    )
    public_id = page.json()["monitors"][0]["public_id"]

    badge = await api.get(f"/badge/{public_id}.svg", params={"window": "24h"})
    await api.put("/status-page", json={"slug": "badges", "title": "Badges"}, headers=owner.headers)
    unpublished = await api.get(f"/badge/{public_id}.svg")

    assert badge.status_code == 200
    assert badge.headers["content-type"] == "image/svg+xml"
    assert badge.text.startswith("<svg")
    assert "uptime 24h" in badge.text
    assert unpublished.status_code == 404


def test_badge_uptime_floored() -> None:
    assert format_uptime(0.999996) == "99.99%"
    assert format_uptime(1.0) == "100%"
    assert format_uptime(0.5) == "50%"
    assert format_uptime(None) == "no data"
