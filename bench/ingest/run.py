"""Benchmark of the agent side of the control plane, on loopback.

    .venv/bin/python bench/ingest/run.py [--results N] [--monitors N]

Creates a scratch database on the PostgreSQL of MOMETRICS_BENCH_ADMIN_URL
(default postgresql://postgres@127.0.0.1:5432/postgres), migrates it, and
runs `mometrics-control gateway` as its own process. Then it measures:

* end-to-end ingest: protocol-level agent streams (bench/ingest/streams.py,
  six agents in three regions, 500 results a batch, at most 16 batches
  unacknowledged each) push pre-serialised results; the rate counts from
  the first write to the last acknowledgement, and an acknowledgement
  means committed rows;
* a raw COPY of the same rows into check_results over six connections, in
  the same run, and the ratio of the two rates;
* the rollup job over everything stored (minutes, hours and days),
  scaled to one million results;
* CPU time per result of the gateway process, of the PostgreSQL backends
  that serve the scratch database, and of this load generator, from
  /proc/PID/stat (so only with PostgreSQL on this machine), for the steady
  ingest and for the raw COPY;
* stored bytes per result: pg_total_relation_size of every check_results
  partition (heap, TOAST and primary key), divided by the rows, and the
  same for a copy of the rows written once in key order (what a rewrite of
  a closed partition would leave);
* backlog drain: the gateway restarts and the six agents resend a spooled
  backlog at once (at most 64 batches unacknowledged, as the agent allows);
  the time runs from the first write after reconnecting to the last ack;
* assignment: rendezvous owners of 100,000 monitors in three regions with
  ten agents each, built once, then one more agent joining one region, and
  one joining each region; the full recomputation per replica is timed as
  the reference.

Prints one JSON report. Nothing leaves 127.0.0.1. The scratch database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

from streams import BenchStream, serialised_batches

from mometrics.probe.v1 import agent_pb2
from mometrics_control.agents.service import format_token
from mometrics_control.auth.tokens import hash_secret, new_secret
from mometrics_control.gateway.assignment import RegionPlan, responsible_agent
from mometrics_control.rollups.compute import refresh_rollups

REGIONS = ["ap-south", "eu-west", "us-east"]
AGENTS_PER_REGION = 2
BATCH_SIZE = 500
STEADY_WINDOW = 16
BACKLOG_WINDOW = 64
ADMIN_URL = os.environ.get(
    "MOMETRICS_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("MOMETRICS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_result(monitor_id: str, at: float, run: int) -> agent_pb2.CheckResult:
    """Return a realistic HTTP result: mostly up with phase timings, some failures."""
    us = round(at * 1_000_000)
    is_up = run % 50 != 7
    latency = 40.0 + (int(monitor_id[:6], 16) + 37 * run) % 2000 / 10
    return agent_pb2.CheckResult(
        monitor_id=monitor_id,
        scheduled_at_us=us,
        started_at_us=us + 1500,
        status=agent_pb2.CHECK_STATUS_UP if is_up else agent_pb2.CHECK_STATUS_DOWN,
        latency_ms=latency,
        phases=agent_pb2.Phases(
            dns_ms=1.2, connect_ms=8.5, tls_ms=15.1, first_byte_ms=latency - 30, transfer_ms=3.0
        ),
        status_code=200 if is_up else 503,
        error_class="" if is_up else "http_status",
        error_message="" if is_up else "expected status 200-299, got 503",
        cert_expires_at_us=us + 60 * 86_400 * 1_000_000,
        loop_lag_ms=0.4,
        monitor_version=1,
    )


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


async def seed(url: str, monitors: int) -> list[tuple[str, str, str]]:
    """Insert monitors in every region and the agents; return (id, token, region)."""
    connection = await asyncpg.connect(url)
    organization_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO organizations (id, name) VALUES ($1, 'bench')", organization_id
    )
    await connection.copy_records_to_table(
        "monitors",
        columns=[
            "id",
            "organization_id",
            "name",
            "kind",
            "target",
            "interval_seconds",
            "timeout_seconds",
            "regions",
        ],
        records=[
            (
                uuid.uuid4(),
                organization_id,
                f"m{i}",
                "http",
                "https://example.org/",
                60,
                10.0,
                REGIONS,
            )
            for i in range(monitors)
        ],
    )
    agents = []
    for region in REGIONS:
        for _ in range(AGENTS_PER_REGION):
            agent_id, secret = uuid.uuid4(), new_secret()
            await connection.execute(
                "INSERT INTO agents (id, name, region, token_hash) VALUES ($1, 'bench', $2, $3)",
                agent_id,
                region,
                hash_secret(secret),
            )
            agents.append((str(agent_id), format_token(agent_id, secret), region))
    await connection.close()
    return agents


class GatewayProcess:
    def __init__(self, url: str, port: int, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "MOMETRICS_ENV": "development",
            "MOMETRICS_DATABASE_URL": url,
            "MOMETRICS_REDIS_URL": REDIS_URL,
            "MOMETRICS_GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "MOMETRICS_LOG_LEVEL": "WARNING",
        }
        self.port = port
        self.log_path = log_path

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "mometrics-control"), "gateway"], env=self.env, stdout=log, stderr=log
            )

    async def start(self) -> None:
        self._spawn()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"gateway did not start; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def open_streams(ports: list[int], agents: list[tuple[str, str, str]]) -> list[BenchStream]:
    """Connect every agent, spreading them over the gateway replicas."""
    streams = [
        BenchStream(f"127.0.0.1:{ports[index % len(ports)]}", *agent)
        for index, agent in enumerate(agents)
    ]
    for stream in streams:
        await stream.connect()
    # Later connections moved monitors away from earlier ones; let the
    # deltas arrive before the streams pick the monitors they send for.
    await asyncio.sleep(2.0)
    return streams


def plan_batches(
    streams: list[BenchStream], results: int, first_run_at: float
) -> tuple[list[list[tuple[str, bytes]]], list[agent_pb2.CheckResult], list[str]]:
    pairs = sum(len(s.assigned) for s in streams)
    runs = max(1, results // pairs)
    per_stream = []
    every_result = []
    regions = []
    for stream in streams:
        batches, sent = serialised_batches(
            stream.assigned, runs, first_run_at, BATCH_SIZE, make_result
        )
        per_stream.append(batches)
        every_result.extend(sent)
        regions.extend([stream.region] * len(sent))
    return per_stream, every_result, regions


async def push_all(
    streams: list[BenchStream], per_stream: list[list[tuple[str, bytes]]], window: int
) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(stream.push(batches, window) for stream, batches in zip(streams, per_stream, strict=True))
    )
    return max(stream.last_ack_at for stream in streams) - started


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process on this machine."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time used between `start` and `stop` by the gateways, the backends
    serving the scratch database, and this process."""

    def __init__(self, url: str, database: str, gateway_pids: list[int]) -> None:
        self.url = url
        self.database = database
        self.gateway_pids = gateway_pids

    async def _backends(self) -> dict[int, float]:
        connection = await asyncpg.connect(self.url)
        pids = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.database,
        )
        await connection.close()
        times = {}
        for (pid,) in pids:
            with contextlib.suppress(OSError):
                times[pid] = cpu_seconds(pid)
        return times

    async def start(self) -> None:
        self.backends = await self._backends()
        self.gateways = sum(cpu_seconds(pid) for pid in self.gateway_pids)
        self.own = time.process_time()

    async def stop(self, results: int) -> dict[str, float]:
        """Return microseconds of CPU per result, by process kind."""
        own = time.process_time() - self.own
        gateways = sum(cpu_seconds(pid) for pid in self.gateway_pids) - self.gateways
        # A backend that ended in between is missed; the pools keep theirs open.
        after = await self._backends()
        backends = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in after.items())
        per_result = 1_000_000 / results
        return {
            "gateway_cpu_us_per_result": round(gateways * per_result, 1),
            "postgres_cpu_us_per_result": round(backends * per_result, 1),
            "load_generator_cpu_us_per_result": round(own * per_result, 1),
        }


async def stored_rows(url: str) -> int:
    connection = await asyncpg.connect(url)
    count: int = await connection.fetchval("SELECT count(*) FROM check_results")
    await connection.close()
    return count


async def bytes_per_result(url: str) -> dict[str, float]:
    connection = await asyncpg.connect(url)
    rows = await connection.fetchval("SELECT count(*) FROM check_results")
    sizes = {}
    for table in ("check_results", "rollup_minutes", "rollup_hours", "rollup_days"):
        # pg_partition_tree lists nothing for a table that is not partitioned.
        sizes[table] = await connection.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), "
            "pg_total_relation_size($1::regclass)) "
            "FROM pg_partition_tree($1::regclass) WHERE isleaf",
            table,
        )
    # The same rows written once in key order, as a rewrite of a closed
    # partition (REINDEX, CLUSTER) would leave them: no dead tuples, and a
    # primary key filled to its fillfactor instead of split pages.
    await connection.execute(
        "CREATE TEMP TABLE rebuilt AS "
        "SELECT * FROM check_results ORDER BY monitor_id, region, scheduled_at"
    )
    await connection.execute(
        "ALTER TABLE rebuilt ADD PRIMARY KEY (monitor_id, region, scheduled_at)"
    )
    rebuilt = await connection.fetchval("SELECT pg_total_relation_size('rebuilt')")
    await connection.close()
    return {
        **{
            f"{table}_bytes_per_result": round(int(size) / rows, 1) for table, size in sizes.items()
        },
        "check_results_rebuilt_bytes_per_result": round(int(rebuilt) / rows, 1),
    }


COPY_COLUMNS = [
    "scheduled_at",
    "monitor_id",
    "region",
    "agent_id",
    "started_at",
    "status",
    "latency_ms",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "first_byte_ms",
    "transfer_ms",
    "status_code",
    "error_class",
    "error_message",
    "is_low_confidence",
]


def copy_record(
    result: agent_pb2.CheckResult, region: str, agent_id: uuid.UUID
) -> tuple[object, ...]:
    """Return the row that ingest stores for `result`, in COPY_COLUMNS order."""

    def at(us: int) -> dt.datetime:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)

    phases = result.phases
    return (
        at(result.scheduled_at_us),
        uuid.UUID(result.monitor_id),
        region,
        agent_id,
        at(result.started_at_us),
        result.status,
        result.latency_ms,
        phases.dns_ms,
        phases.connect_ms,
        phases.tls_ms,
        phases.first_byte_ms,
        phases.transfer_ms,
        result.status_code or None,
        result.error_class or None,
        result.error_message or None,
        result.is_low_confidence,
    )


async def raw_copy(
    url: str, records: list[tuple[object, ...]], connections: int, meter: CpuMeter
) -> tuple[float, dict[str, float]]:
    pool = await asyncpg.create_pool(url, min_size=connections, max_size=connections)
    async with pool.acquire() as connection:
        await connection.execute("TRUNCATE check_results")
    chunks = [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
    queue: asyncio.Queue[list[tuple[object, ...]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def worker() -> None:
        async with pool.acquire() as connection:
            while not queue.empty():
                chunk = queue.get_nowait()
                await connection.copy_records_to_table(
                    "check_results", records=chunk, columns=COPY_COLUMNS
                )

    await meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu = await meter.stop(len(records))
    await pool.close()
    return elapsed, cpu


async def rollup_cost(url: str) -> tuple[float, dict[str, Any]]:
    connection = await asyncpg.connect(url)
    started = time.perf_counter()
    stats = await refresh_rollups(connection, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed, {
        "minute_buckets_changed": stats.minute_buckets,
        "hour_rows": stats.hour_rows,
        "day_rows": stats.day_rows,
    }


def assignment_timings(monitors: int, agents_per_region: int) -> dict[str, float]:
    rng = random.Random(1)
    monitor_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(monitors)]
    agents = {
        region: {str(uuid.UUID(int=rng.getrandbits(128))): None for _ in range(agents_per_region)}
        for region in REGIONS
    }
    plans = {}
    started = time.perf_counter()
    for region in REGIONS:
        plan = RegionPlan(region)
        for monitor_id in monitor_ids:
            plan.upsert(monitor_id, "bench")
        plan.set_agents(agents[region])
        plans[region] = plan
    build_s = time.perf_counter() - started

    newcomer = str(uuid.UUID(int=rng.getrandbits(128)))
    started = time.perf_counter()
    moved = plans[REGIONS[0]].set_agents({**agents[REGIONS[0]], newcomer: None})
    join_one_s = time.perf_counter() - started

    started = time.perf_counter()
    for region in REGIONS[1:]:
        plans[region].set_agents({**agents[region], str(uuid.uuid4()): None})
    join_each_s = join_one_s + time.perf_counter() - started

    started = time.perf_counter()
    region_agents = [*agents[REGIONS[0]], newcomer]
    for monitor_id in monitor_ids:
        responsible_agent(monitor_id, region_agents)
    full_region_s = time.perf_counter() - started
    return {
        "monitors": monitors,
        "agents_per_region": agents_per_region,
        "initial_build_3_regions_s": round(build_s, 3),
        "join_one_region_s": round(join_one_s, 3),
        "join_each_of_3_regions_s": round(join_each_s, 3),
        "moved_by_join": len(moved),
        "moved_fraction": round(len(moved) / monitors, 4),
        "full_recompute_one_region_s": round(full_region_s, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--results", type=int, default=600_000, help="results in the steady run")
    parser.add_argument("--backlog", type=int, default=200_000, help="results in the backlog")
    parser.add_argument("--monitors", type=int, default=5_000, help="monitors (each in 3 regions)")
    parser.add_argument(
        "--assign-monitors", type=int, default=100_000, help="monitors for the assignment timing"
    )
    parser.add_argument("--replicas", type=int, default=1, help="gateway processes")
    args = parser.parse_args()
    name = f"mometrics_bench_{os.getpid()}"
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "gateway_replicas": args.replicas,
        "load_before": os.getloadavg()[0],
    }
    url = await create_database(name)
    log_path = Path(f"/tmp/{name}-gateway.log")
    try:
        agents = await seed(url, args.monitors)
        gateways = [GatewayProcess(url, free_port(), log_path) for _ in range(args.replicas)]
        for gateway in gateways:
            await gateway.start()
        ports = [gateway.port for gateway in gateways]
        streams = await open_streams(ports, agents)

        # Steady ingest, runs in the past two hours (inside every accepted age)
        first_run_at = time.time() - 2 * 3600
        per_stream, sent, regions = plan_batches(streams, args.results, first_run_at)
        meter = CpuMeter(url, name, [gateway.process.pid for gateway in gateways])
        await meter.start()
        elapsed = await push_all(streams, per_stream, STEADY_WINDOW)
        cpu = await meter.stop(len(sent))
        rows = await stored_rows(url)
        ingest_rate = len(sent) / elapsed
        report["ingest"] = {
            "results": len(sent),
            "stored_rows": rows,
            "seconds": round(elapsed, 2),
            "results_per_s": round(ingest_rate),
            **cpu,
        }

        rollup_s, rollup_stats = await rollup_cost(url)
        report["rollups"] = {
            "results": rows,
            "seconds": round(rollup_s, 2),
            "seconds_per_million_results": round(rollup_s * 1_000_000 / rows, 1),
            **rollup_stats,
        }
        report["storage"] = await bytes_per_result(url)

        # Backlog: the gateway restarts and every agent resends at once
        for stream in streams:
            await stream.close()
        for gateway in gateways:
            gateway.stop()
            await gateway.start()
        streams = await open_streams(ports, agents)
        backlog, backlog_sent, _ = plan_batches(streams, args.backlog, first_run_at - 3 * 3600)
        drain_s = await push_all(streams, backlog, BACKLOG_WINDOW)
        report["backlog"] = {
            "results": len(backlog_sent),
            "drain_s": round(drain_s, 2),
            "results_per_s": round(len(backlog_sent) / drain_s),
        }
        for stream in streams:
            await stream.close()
        for gateway in gateways:
            gateway.stop()

        # Raw COPY of the steady run's rows, same batch size and six connections
        agent_id = uuid.UUID(agents[0][0])
        records = [
            copy_record(result, region, agent_id)
            for result, region in zip(sent, regions, strict=True)
        ]
        copy_s, copy_cpu = await raw_copy(url, records, len(agents), CpuMeter(url, name, []))
        copy_rate = len(records) / copy_s
        report["raw_copy"] = {
            "results": len(records),
            "seconds": round(copy_s, 2),
            "results_per_s": round(copy_rate),
            "postgres_cpu_us_per_result": copy_cpu["postgres_cpu_us_per_result"],
            "load_generator_cpu_us_per_result": copy_cpu["load_generator_cpu_us_per_result"],
        }
        report["ingest_to_raw_copy_ratio"] = round(ingest_rate / copy_rate, 3)
        report["assignment"] = assignment_timings(args.assign_monitors, 10)
        report["load_after"] = os.getloadavg()[0]
    finally:
        await drop_database(name)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
