from __future__ import annotations

import httpx
import yaml

from tests.api.conftest import HTTP_MONITOR, new_tenant


async def test_pause_and_resume(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pause@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()

    paused = await api.post(f"/monitors/{monitor['id']}/pause", headers=owner.headers)
    paused_again = await api.post(f"/monitors/{monitor['id']}/pause", headers=owner.headers)
    resumed = await api.post(f"/monitors/{monitor['id']}/resume", headers=owner.headers)

    assert paused.json()["paused"] is True
    assert paused.json()["version"] == 2
    assert paused_again.json()["version"] == 2
    assert resumed.json()["paused"] is False
    assert resumed.json()["version"] == 3


async def test_list_filters_sort_and_pages(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pages@example.org")
    for index in range(5):
        tags = ["prod", "web"] if index % 2 == 0 else ["staging"]
        body = {**HTTP_MONITOR, "name": f"m{index}", "tags": tags}
        assert (await api.post("/monitors", json=body, headers=owner.headers)).status_code == 201

    names: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, "sort": "-name", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/monitors", params=params, headers=owner.headers)).json()
        names += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    tagged = await api.get(
        "/monitors", params=[("tag", "prod"), ("tag", "web")], headers=owner.headers
    )
    searched = await api.get("/monitors", params={"q": "M3"}, headers=owner.headers)
    bad_sort = await api.get("/monitors", params={"sort": "secret"}, headers=owner.headers)
    bad_cursor = await api.get("/monitors", params={"cursor": "garbage"}, headers=owner.headers)

    assert names == ["m4", "m3", "m2", "m1", "m0"]
    assert [m["name"] for m in tagged.json()["items"]] == ["m0", "m2", "m4"]
    assert [m["name"] for m in searched.json()["items"]] == ["m3"]
    assert bad_sort.status_code == 422
    assert bad_sort.json()["errors"][0]["field"] == "sort"
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"


async def test_export_import_round_trip(api: httpx.AsyncClient) -> None:
    source = await new_tenant(api, "export@example.org")
    target = await new_tenant(api, "import@example.org")
    await api.post("/monitors", json={**HTTP_MONITOR, "tags": ["a"]}, headers=source.headers)
    await api.post(
        "/monitors",
        json={"name": "Cron", "kind": "push", "interval_seconds": 3600},
        headers=source.headers,
    )

    exported = await api.get("/monitors/export", params={"format": "yaml"}, headers=source.headers)
    imported = await api.post(
        "/monitors/import",
        content=exported.content,
        headers={**target.headers, "Content-Type": "application/yaml"},
    )
    again = await api.post(
        "/monitors/import",
        content=exported.content,
        headers={**target.headers, "Content-Type": "application/yaml"},
    )
    listed = await api.get("/monitors", headers=target.headers)

    assert exported.headers["content-type"].startswith("application/yaml")
    assert [m["name"] for m in yaml.safe_load(exported.text)["monitors"]] == ["Cron", "Home page"]
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2
    assert again.json()["updated"] == 2
    assert again.json()["created"] == 0
    items = {m["name"]: m for m in listed.json()["items"]}
    assert items["Home page"]["tags"] == ["a"]
    assert items["Cron"]["regions"] == ["push"]
    assert len(items) == 2


async def test_import_rejected_changes_nothing(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "atomic@example.org")
    await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)
    document = {
        "monitors": [
            {**HTTP_MONITOR, "interval_seconds": 120},
            {**HTTP_MONITOR, "name": "New one"},
            {**HTTP_MONITOR, "name": "Broken", "url": "ftp://example.org/"},
            {**HTTP_MONITOR, "name": "Too fast", "interval_seconds": 1},
        ]
    }

    response = await api.post("/monitors/import", json=document, headers=owner.headers)
    listed = await api.get("/monitors", headers=owner.headers)

    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert "monitors[2].url" in fields
    assert "monitors[3].interval_seconds" in fields
    assert [m["name"] for m in listed.json()["items"]] == ["Home page"]
    assert listed.json()["items"][0]["interval_seconds"] == 30


async def test_import_duplicate_names_and_dry_run(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "dry@example.org")
    duplicate = {"monitors": [HTTP_MONITOR, HTTP_MONITOR]}
    single = {"monitors": [HTTP_MONITOR]}

    rejected = await api.post("/monitors/import", json=duplicate, headers=owner.headers)
    dry = await api.post(
        "/monitors/import", params={"dry_run": "true"}, json=single, headers=owner.headers
    )
    listed = await api.get("/monitors", headers=owner.headers)
    not_yaml = await api.post(
        "/monitors/import",
        content=b"monitors: [",
        headers={**owner.headers, "Content-Type": "application/yaml"},
    )

    assert rejected.status_code == 422
    assert rejected.json()["errors"][0]["field"] == "monitors[1].name"
    assert dry.json()["created"] == 1
    assert dry.json()["is_dry_run"] is True
    assert listed.json()["items"] == []
    assert not_yaml.status_code == 422


async def test_monitor_detail_and_uptime_etag(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "etag2@example.org")
    monitor = (await api.post("/monitors", json=HTTP_MONITOR, headers=owner.headers)).json()

    # A relative window such as 24h ends at the request time, so its body
    # changes every time; a fixed since/until gives a stable body.
    fixed_window = "since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z"
    paths = (f"/monitors/{monitor['id']}", f"/monitors/{monitor['id']}/uptime?{fixed_window}")
    for path in paths:
        first = await api.get(path, headers=owner.headers)
        etag = first.headers["etag"]
        cached = await api.get(path, headers={**owner.headers, "If-None-Match": etag})
        assert first.status_code == 200, path
        assert cached.status_code == 304, path
        assert cached.content == b"", path

    await api.patch(f"/monitors/{monitor['id']}", json={"name": "New"}, headers=owner.headers)
    changed = await api.get(
        f"/monitors/{monitor['id']}",
        headers={**owner.headers, "If-None-Match": first.headers["etag"]},
    )
    assert changed.status_code == 200


async def test_push_monitor_rejects_target_and_regions(api: httpx.AsyncClient) -> None:
    owner = await new_tenant(api, "pushrules@example.org")
    base = {"name": "Cron", "kind": "push", "interval_seconds": 60}

    with_url = await api.post("/monitors", json={**base, "url": "http://x/"}, headers=owner.headers)
    with_region = await api.post(
        "/monitors", json={**base, "regions": ["eu-west"]}, headers=owner.headers
    )
    bad_grace = await api.post(
        "/monitors", json={**base, "options": {"grace_seconds": -1}}, headers=owner.headers
    )
    http_on_push = await api.post(
        "/monitors", json={**HTTP_MONITOR, "regions": ["push"]}, headers=owner.headers
    )
    no_regions = await api.post(
        "/monitors", json={**HTTP_MONITOR, "regions": []}, headers=owner.headers
    )

    assert with_url.status_code == 422
    assert with_region.status_code == 422
    assert bad_grace.json()["errors"][0]["field"] == "options.grace_seconds"
    assert http_on_push.status_code == 422
    assert no_regions.json()["errors"][0]["field"] == "regions"
