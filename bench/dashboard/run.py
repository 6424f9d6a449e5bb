"""Benchmark the dashboard's first load with 1,000 monitors and 30 days of results.

Creates its own PostgreSQL database (dropped at the end) and uses Redis
database 12 (flushed before and after), starts the api serving
dashboard/dist on a free loopback port, seeds the data with SQL, times the
API calls from Python, then runs measure.mjs (page loads) and charts.mjs
(uPlot against ECharts) in headless Chromium and prints a JSON report.

Seeded data:
- 1,000 HTTP monitors in three regions, each with one hour of one-minute
  results per region (180,000 rows) and an "up" state per region;
- one monitor with 30 days of one-minute results in three regions
  (129,600 rows, about 1 in 500 down).
No agent or gateway runs: one agent row per region is inserted and marked
live in Redis by this script, and the monitor targets (*.example.test) are
never contacted.

Usage: .venv/bin/python bench/dashboard/run.py [--runs N] [--pages NAMES] [--skip-charts]
       [--dist FOLDER]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from mometrics_control.agents import registry

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_DIST = ROOT / "dashboard" / "dist"
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "MOMETRICS_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("MOMETRICS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
REGIONS = ["ap-south", "eu-west", "us-east"]
MONITOR_COUNT = 1000
# Pages that measure.mjs can load, by the names its report uses.
PAGE_NAMES = ("overview", "monitor_30d")
EMAIL = "bench@example.org"
PASSWORD = "bench-password"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


SEED_MONITORS = """
INSERT INTO monitors (id, organization_id, name, kind, target, interval_seconds,
                      timeout_seconds, regions, tags)
SELECT gen_random_uuid(), $1, format('service-%s', lpad(i::text, 4, '0')), 'http',
       format('https://service-%s.example.test/health', i), 60, 10, $2::text[],
       ARRAY[(ARRAY['web', 'api', 'db', 'edge'])[1 + i % 4]]
FROM generate_series(1, $3) AS i
"""

SEED_RECENT_RESULTS = """
INSERT INTO check_results (scheduled_at, monitor_id, region, started_at, status, latency_ms)
SELECT t, m.id, r, t, 1, 20 + random() * 80
FROM monitors m
CROSS JOIN unnest($1::text[]) AS r
CROSS JOIN generate_series(date_trunc('minute', now()) - interval '59 minutes',
                           date_trunc('minute', now()), interval '1 minute') AS t
WHERE m.organization_id = $2 AND m.name LIKE 'service-%'
"""

SEED_MONTH_RESULTS = """
INSERT INTO check_results (scheduled_at, monitor_id, region, started_at, status, latency_ms,
                           error_class)
SELECT t, $1, r, t, CASE WHEN random() < 0.002 THEN 2 ELSE 1 END,
       30 + 20 * sin(extract(epoch FROM t) / 3600) + random() * 40, NULL
FROM unnest($2::text[]) AS r
CROSS JOIN generate_series(date_trunc('minute', now()) - interval '30 days' + interval '1 minute',
                           date_trunc('minute', now()), interval '1 minute') AS t
"""

SEED_STATES = """
INSERT INTO region_states (monitor_id, region, status, last_scheduled_at, last_latency_ms,
                           changed_at)
SELECT m.id, r, 'up', date_trunc('minute', now()), 42, now() - interval '1 day'
FROM monitors m CROSS JOIN unnest($1::text[]) AS r
WHERE m.organization_id = $2
"""


SEED_AGENTS = """
INSERT INTO agents (id, name, region, token_hash)
SELECT gen_random_uuid(), format('bench-%s', r), r, repeat('0', 64)
FROM unnest($1::text[]) AS r
RETURNING id, region
"""


async def seed(url: str, organization_id: uuid.UUID) -> tuple[uuid.UUID, dict[str, str]]:
    """Insert the data; return the 30-day monitor's id and the agent id of each region."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "SELECT mometrics_ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
            "FROM generate_series(-31, 1) AS d"
        )
        await connection.execute(SEED_MONITORS, organization_id, REGIONS, MONITOR_COUNT)
        month_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO monitors (id, organization_id, name, kind, target, interval_seconds,"
            " timeout_seconds, regions, tags) VALUES ($1, $2, 'bench-30d', 'http',"
            " 'https://month.example.test/health', 60, 10, $3::text[], ARRAY['bench'])",
            month_id,
            organization_id,
            REGIONS,
        )
        await connection.execute(SEED_RECENT_RESULTS, REGIONS, organization_id)
        await connection.execute(SEED_MONTH_RESULTS, month_id, REGIONS)
        await connection.execute(SEED_STATES, REGIONS, organization_id)
        agents = await connection.fetch(SEED_AGENTS, REGIONS)
        await connection.execute("ANALYZE")
        return month_id, {row["region"]: str(row["id"]) for row in agents}
    finally:
        await connection.close()


async def keep_regions_live(redis: Redis, agent_ids: dict[str, str]) -> None:
    while True:
        for region, agent_id in agent_ids.items():
            await registry.mark_live(redis, region, agent_id)
        await asyncio.sleep(5)


async def time_request(client: httpx.AsyncClient, path: str, runs: int) -> dict[str, object]:
    durations = []
    size = 0
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(path)
        durations.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return {
        "path": path,
        "median_ms": round(statistics.median(durations)),
        "all_ms": [round(d) for d in durations],
        "body_kb": round(size / 1024),
    }


def bundle_sizes(dist: Path) -> dict[str, object]:
    """Return the gzipped size of all JS, of the JS that index.html loads, and of each chunk."""
    assets = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in (dist / "assets").glob("*.js")}
    index = (dist / "index.html").read_text()
    initial = set(re.findall(r'/assets/([^"]+\.js)', index))
    return {
        "all_js_gzip_kb": round(sum(assets.values()) / 1024, 1),
        "index_html_js_gzip_kb": round(sum(assets[name] for name in initial) / 1024, 1),
        "chunks_gzip_kb": {name: round(size / 1024, 1) for name, size in sorted(assets.items())},
    }


def loaded_js_kb(dist: Path, scripts: list[str]) -> float:
    sizes = [len(gzip.compress((dist / path.lstrip("/")).read_bytes(), 9)) for path in scripts]
    return round(sum(sizes) / 1024, 1)


async def run_node(script: Path, env: dict[str, str]) -> Any:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        cwd=HERE,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 600)
    if process.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{stderr.decode()[-4000:]}")
    return json.loads(stdout)


def summarise(dist: Path, runs: list[dict[str, Any]]) -> dict[str, Any]:
    for run in runs:
        # Browser time after the last API response: rendering the data, not waiting for it.
        data_end = max(entry["response_end_ms"] for entry in run["api"])
        run["ready_after_data_ms"] = run["ready_ms"] - data_end
        run["interactive_after_data_ms"] = run["interactive_ms"] - data_end
    keys = [
        "ready_ms",
        "interactive_ms",
        "ready_after_data_ms",
        "interactive_after_data_ms",
        "main_thread_ms",
        "script_ms",
        "layout_ms",
        "style_ms",
    ]
    summary: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    summary["js_loaded_gzip_kb"] = loaded_js_kb(dist, runs[0]["scripts"])
    summary["api_server_wait_ms"] = {
        entry["path"]: statistics.median(
            e["server_wait_ms"] for r in runs for e in r["api"] if e["path"] == entry["path"]
        )
        for entry in runs[0]["api"]
    }
    summary["runs"] = runs
    return summary


async def main(runs: int, selected_pages: list[str], skip_charts: bool, dist: Path) -> None:
    if not (dist / "index.html").is_file():
        raise SystemExit(f"{dist}/index.html is missing; build it with `make dashboard` first")
    name = f"mometrics_bench_dashboard_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    port = free_port()
    env = {
        **os.environ,
        "MOMETRICS_ENV": "development",
        "MOMETRICS_DATABASE_URL": url,
        "MOMETRICS_REDIS_URL": REDIS_URL,
        "MOMETRICS_API_PORT": str(port),
        "MOMETRICS_DASHBOARD_DIR": str(dist),
        "MOMETRICS_LOG_LEVEL": "WARNING",
    }
    api: asyncio.subprocess.Process | None = None
    heartbeat: asyncio.Task[None] | None = None
    try:
        migrate = await asyncio.create_subprocess_exec(
            str(BIN / "mometrics-control"), "migrate", env=env
        )
        if await migrate.wait() != 0:
            raise RuntimeError("mometrics-control migrate failed")
        api = await asyncio.create_subprocess_exec(str(BIN / "mometrics-control"), "api", env=env)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=120) as client:
            for _ in range(150):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            credentials = {"email": EMAIL, "password": PASSWORD}
            (await client.post("/auth/register", json=credentials)).raise_for_status()
            pair = (await client.post("/auth/login", json=credentials)).json()
            client.headers["Authorization"] = f"Bearer {pair['access_token']}"
            connection = await asyncpg.connect(url)
            organization_id = await connection.fetchval(
                "SELECT organization_id FROM memberships JOIN users ON users.id = user_id "
                "WHERE email = $1",
                EMAIL,
            )
            await connection.close()

            began = time.perf_counter()
            month_id, agent_ids = await seed(url, organization_id)
            seed_s = round(time.perf_counter() - began, 1)
            heartbeat = asyncio.create_task(keep_regions_live(redis, agent_ids))

            server = []
            if "overview" in selected_pages:
                server.append(await time_request(client, "/overview", runs))
            if "monitor_30d" in selected_pages:
                for path in ("uptime", "latency"):
                    url_path = f"/monitors/{month_id}/{path}?window=30d"
                    server.append(await time_request(client, url_path, runs))
            tokens = json.dumps(
                {"accessToken": pair["access_token"], "refreshToken": pair["refresh_token"]}
            )
        browser_env = {
            **os.environ,
            "MOMETRICS_BENCH_BASE_URL": base,
            "MOMETRICS_BENCH_TOKENS": tokens,
            "MOMETRICS_BENCH_MONITOR_ID": str(month_id),
            "MOMETRICS_BENCH_MONITOR_COUNT": str(MONITOR_COUNT + 1),
            "MOMETRICS_BENCH_RUNS": str(runs),
            "MOMETRICS_BENCH_PAGES": ",".join(selected_pages),
        }
        pages = await run_node(HERE / "measure.mjs", browser_env)
        charts = None if skip_charts else await run_node(HERE / "charts.mjs", dict(os.environ))
        report = {
            "seed_s": seed_s,
            "server_python_client": server,
            "pages": {page: summarise(dist, r) for page, r in pages.items()},
            "bundle": bundle_sizes(dist),
            "charts": charts,
        }
        print(json.dumps(report, indent=2))
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
        if api is not None:
            api.terminate()
            await asyncio.wait_for(api.wait(), 15)
        await redis.flushdb()
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="page loads and API calls per figure")
    parser.add_argument(
        "--pages",
        default=",".join(PAGE_NAMES),
        help=f"comma-separated pages to load in the browser, from {', '.join(PAGE_NAMES)}",
    )
    parser.add_argument(
        "--skip-charts", action="store_true", help="leave out the uPlot and ECharts comparison"
    )
    parser.add_argument(
        "--dist",
        type=Path,
        default=DEFAULT_DIST,
        help="built dashboard to serve, e.g. an older build to compare with (default: %(default)s)",
    )
    arguments = parser.parse_args()
    selected = [name.strip() for name in arguments.pages.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(PAGE_NAMES))
    if unknown:
        parser.error(f"unknown page {', '.join(unknown)}; choose from {', '.join(PAGE_NAMES)}")
    asyncio.run(main(arguments.runs, selected, arguments.skip_charts, arguments.dist.resolve()))
