"""Benchmark the REST API's read endpoints with 1,000 monitors and 30 days of data.

    apt-get install -y wrk
    .venv/bin/python bench/api/run.py [--duration 10] [--connections 4]

Creates a scratch database on the PostgreSQL of MOMETRICS_BENCH_ADMIN_URL
(default postgresql://postgres@127.0.0.1:5432/postgres), migrates it, starts
a private redis-server on a free loopback port, and runs `mometrics-control
api` (one uvicorn process) against both. It seeds 1,000 HTTP monitors in
three regions with bench/api/seed.py: 25 hours of one-minute raw results,
minute rollups where the API reads them, 32 days of hour rollups and 31
days of day rollups. Then it marks the regions live and runs wrk against
each endpoint:

- GET /health (PostgreSQL SELECT 1 and a Redis PING) as the reference for
  what the framework, the event loop and one round trip cost;
- GET /overview over one connection, then plain and with If-None-Match
  over `--connections`;
- GET /monitors/{id}/uptime?window=24h (raw rows), plain and conditional,
  and ?window=30d (rollups), cycling over 100 monitors;
- GET /monitors/{id}/results (the newest 100) and GET /monitors (a page of 50).

Prints a table and one JSON report; `--keep` keeps the database for EXPLAIN
and prints its URL. Nothing leaves 127.0.0.1. The database and the Redis
server are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from alembic import command
from alembic.config import Config
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed import REGIONS, seed

from mometrics_control.agents import registry

ADMIN_URL = os.environ.get(
    "MOMETRICS_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BIN = Path(sys.executable).parent
MONITOR_COUNT = 1000
EMAIL = "bench@example.org"
PASSWORD = "bench-password"
# Lua for wrk: cycles through `paths`, sends `etags[i]` as If-None-Match
# unless it is empty, and prints latency percentiles (microseconds) as JSON
# at the end.
WRK_SCRIPT = """
local paths = {paths}
local etags = {etags}
local counter = 0
request = function()
  counter = counter + 1
  local index = (counter % #paths) + 1
  -- A headers table given to wrk.format replaces wrk.headers.
  local headers = {{["Authorization"] = "Bearer {token}"}}
  if etags[index] ~= "" then headers["If-None-Match"] = etags[index] end
  return wrk.format("GET", paths[index], headers)
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f}}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(json.dumps(value) for value in values) + "}"


async def create_database(name: str) -> str:
    connection = await asyncpg.connect(ADMIN_URL)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    return url


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def keep_regions_live(redis: Redis, agent_ids: list[uuid.UUID]) -> None:
    while True:
        for agent_id, region in zip(agent_ids, REGIONS, strict=True):
            await registry.mark_live(redis, region, str(agent_id))
        await asyncio.sleep(5)


async def wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(150):
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/health")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("the api did not become healthy within 30 s")


async def run_wrk(
    base: str,
    paths: list[str],
    etags: list[str],
    token: str,
    duration_s: int,
    connections: int,
) -> dict[str, Any]:
    script = WRK_SCRIPT.format(paths=lua_list(paths), etags=lua_list(etags), token=token)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        process = await asyncio.create_subprocess_exec(
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--timeout",
            "30s",
            "-s",
            handle.name,
            base,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
    finally:
        os.unlink(handle.name)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {stderr.decode()}")
    line = next(x for x in stdout.decode().splitlines() if x.startswith("WRK_JSON "))
    figures: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    figures["requests_per_s"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


async def single_request_ms(client: httpx.AsyncClient, path: str, runs: int) -> list[float]:
    """Time sequential requests, one at a time, from Python."""
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(path)
        durations.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return durations


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'endpoint':<52} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:<52} {row['connections']:>5} {row['requests_per_s']:>8.1f} "
            f"{row['p50_us'] / 1000:>8.1f} {row['p95_us'] / 1000:>8.1f} "
            f"{row['p99_us'] / 1000:>8.1f} "
            f"{row['non_2xx_3xx'] + row['socket_errors']:>6}"
        )


async def measure(
    base: str, client: httpx.AsyncClient, token: str, duration_s: int, connections: int
) -> list[dict[str, Any]]:
    listing = await client.get("/monitors", params={"limit": 100})
    monitor_ids = [item["id"] for item in listing.json()["items"]]
    api = "/api/v1"
    uptime_24h = [f"{api}/monitors/{m}/uptime?window=24h" for m in monitor_ids]
    uptime_30d = [f"{api}/monitors/{m}/uptime?window=30d" for m in monitor_ids]
    results = [f"{api}/monitors/{m}/results?limit=100" for m in monitor_ids]

    async def etags_of(paths: list[str]) -> list[str]:
        tags = []
        for path in paths:
            response = await client.get(path.removeprefix(api))
            response.raise_for_status()
            tags.append(response.headers["etag"])
        return tags

    every = [""] * len(monitor_ids)
    # (name, paths, ETags or None to fetch them for If-None-Match, connections)
    runs: list[tuple[str, list[str], list[str] | None, int]] = [
        ("GET /health (reference)", [f"{api}/health"], [""], connections),
        ("GET /overview, 1 connection", [f"{api}/overview"], [""], 1),
        ("GET /overview", [f"{api}/overview"], [""], connections),
        ("GET /overview, If-None-Match", [f"{api}/overview"], None, connections),
        ("GET /monitors/{id}/uptime?window=24h", uptime_24h, every, connections),
        ("GET /monitors/{id}/uptime?window=24h, If-None-Match", uptime_24h, None, connections),
        ("GET /monitors/{id}/uptime?window=30d", uptime_30d, every, connections),
        ("GET /monitors/{id}/results?limit=100", results, every, connections),
        ("GET /monitors?limit=50", [f"{api}/monitors?limit=50"], [""], connections),
    ]
    rows = []
    for name, paths, etags, run_connections in runs:
        # One untimed pass warms caches and, for conditional runs, fetches the ETags.
        tags = await etags_of(paths) if etags is None else etags
        if etags is not None:
            await etags_of(paths[:5])
        row: dict[str, Any] = {"name": name, "connections": run_connections}
        if etags is None:
            check = await client.get(paths[0].removeprefix(api), headers={"If-None-Match": tags[0]})
            row["conditional_status"] = check.status_code
        figures = await run_wrk(base, paths, tags, token, duration_s, run_connections)
        rows.append({**row, **figures})
    return rows


async def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing; install it with `apt-get install -y wrk`")
    name = f"mometrics_bench_api_{os.getpid()}"
    redis_port = free_port()
    redis_dir = tempfile.mkdtemp(prefix="mometrics-bench-redis-")
    redis_server = await asyncio.create_subprocess_exec(
        "redis-server",
        *("--port", str(redis_port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", redis_dir),
        stdout=asyncio.subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    api: asyncio.subprocess.Process | None = None
    heartbeat: asyncio.Task[None] | None = None
    redis = Redis.from_url(redis_url)
    try:
        url = await create_database(name)
        port = free_port()
        env = {
            **os.environ,
            "MOMETRICS_ENV": "development",
            "MOMETRICS_DATABASE_URL": url,
            "MOMETRICS_REDIS_URL": redis_url,
            "MOMETRICS_API_PORT": str(port),
            "MOMETRICS_LOG_LEVEL": "WARNING",
            "MOMETRICS_DASHBOARD_DIR": "",
        }
        api = await asyncio.create_subprocess_exec(str(BIN / "mometrics-control"), "api", env=env)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=120) as client:
            await wait_healthy(client)
            credentials = {"email": EMAIL, "password": PASSWORD}
            (await client.post("/auth/register", json=credentials)).raise_for_status()
            pair = (await client.post("/auth/login", json=credentials)).json()
            token = pair["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            me = (await client.get("/auth/me")).json()
            organization_id = uuid.UUID(me["organizations"][0]["id"])

            began = time.perf_counter()
            agent_ids, counts = await seed(url, organization_id, MONITOR_COUNT)
            seed_s = time.perf_counter() - began
            print(f"seeded in {seed_s:.1f} s: {counts}", flush=True)
            # A fresh access token outlives the measurements (15 min by default).
            pair = (await client.post("/auth/login", json=credentials)).json()
            token = pair["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            heartbeat = asyncio.create_task(keep_regions_live(redis, agent_ids))
            await asyncio.sleep(0.5)
            if args.keep or args.seed_only:
                print(f"database kept: {url}", flush=True)
            if args.seed_only:
                return

            sequential = await single_request_ms(client, "/overview", 5)
            rows = await measure(base, client, token, args.duration, args.connections)
        print_table(rows)
        report = {
            "seed_s": round(seed_s, 1),
            "rows": counts,
            "overview_sequential_ms": [round(d, 1) for d in sequential],
            "wrk": {"duration_s": args.duration, "connections": args.connections},
            "runs": rows,
        }
        print(json.dumps(report, indent=2))
        failed = [row["name"] for row in rows if row["non_2xx_3xx"] or row["socket_errors"]]
        if failed:
            raise SystemExit(f"requests failed in: {', '.join(failed)}")
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
        if api is not None:
            api.terminate()
            await asyncio.wait_for(api.wait(), 15)
        await redis.aclose()
        redis_server.terminate()
        await asyncio.wait_for(redis_server.wait(), 10)
        shutil.rmtree(redis_dir, ignore_errors=True)
        if not (args.keep or args.seed_only):
            await drop_database(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=4, help="open connections of wrk")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed, keep the database and measure nothing"
    )
    asyncio.run(main(parser.parse_args()))
