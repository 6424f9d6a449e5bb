"""Agent side of the benchmark, one measurement per run, printed as JSON.

    python bench/agent/agent_worker.py cpu URL COUNT CONCURRENCY
    python bench/agent/agent_worker.py schedule BASE_URL MONITORS SECONDS DELAY_MS WORKERS
    python bench/agent/agent_worker.py memory URL MONITORS SECONDS WORKERS

`cpu` runs COUNT HTTP checks with the agent's check code and reports the
process CPU time.

`schedule` runs the whole Agent with MONITORS HTTP monitors at a 1 s
interval (MONITORS checks per second) for SECONDS, with WORKERS check
processes (MOMETRICS_AGENT_WORKERS). Each monitor checks
`BASE_URL/delay?ms=DELAY_MS&id=<monitor id>` on the benchmark's target
server. Results are read back from the agent's spool file, since no gateway
takes them. The report gives how late checks started, and how far the
reported latency is from DELAY_MS and from the delay that the target
recorded for that very request.

`memory` runs the whole Agent with MONITORS monitors at a 60 s interval and
reports its resident memory, summed over the worker processes when there
are any.

The gateway address is a closed loopback port: the stream client keeps
reconnecting in the background while the scheduler is fed directly.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import checks, runtime
from mometrics_agent.app import Agent
from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import CheckSpec
from mometrics_agent.config import AgentSettings


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index], 3)


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


async def measure_cpu(url: str, count: int, concurrency: int) -> dict[str, Any]:
    spec = CheckSpec(
        monitor_id=str(uuid.uuid4()),
        kind="http",
        target=url,
        interval_s=60,
        timeout_s=10,
        is_private_blocked=False,
    )
    semaphore = asyncio.Semaphore(concurrency)
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with semaphore:
            outcome = await run_check(spec)
        if not outcome.is_up:
            failures += 1

    await asyncio.gather(*(one() for _ in range(50)))  # warm-up: imports, first connections
    failures = 0
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    cpu_s, wall_s = cpu_seconds() - cpu_before, time.monotonic() - wall_before
    await checks.close_shared_clients()
    return {"checks": count, "failures": failures, "cpu_s": round(cpu_s, 3), "wall_s": wall_s}


def assignments(
    monitor_ids: list[str], target_for: dict[str, str], interval_s: int
) -> list[agent_pb2.Assignment]:
    return [
        agent_pb2.Assignment(
            monitor_id=monitor_id,
            kind="http",
            target=target_for[monitor_id],
            interval_s=interval_s,
            timeout_s=5,
            monitor_version=1,
        )
        for monitor_id in monitor_ids
    ]


def bench_settings(folder: str, workers: int) -> AgentSettings:
    return AgentSettings(
        gateway_address="127.0.0.1:9",
        agent_token="mma_" + uuid.uuid4().hex + "_benchsecret",
        agent_region="bench",
        agent_spool_path=Path(folder) / "spool.sqlite3",
        agent_metrics_port=0,
        agent_workers=workers,
        allow_private_targets=True,
    )


def schedstat_s(pids: list[int]) -> tuple[float, float]:
    """Return (seconds on a CPU, seconds runnable but waiting for one) of every thread.

    From /proc/PID/task/TID/schedstat. Waiting time is what other work on
    the machine took from these processes.
    """
    on_cpu_ns = waiting_ns = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                fields = (task / "schedstat").read_text().split()
                on_cpu_ns += int(fields[0])
                waiting_ns += int(fields[1])
    return on_cpu_ns / 1e9, waiting_ns / 1e9


def spooled_results(path: Path) -> list[agent_pb2.CheckResult]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT payload FROM results ORDER BY id").fetchall()
    finally:
        connection.close()
    return [agent_pb2.CheckResult.FromString(payload) for (payload,) in rows]


def fetch_served(base_url: str) -> dict[str, list[tuple[int, float]]]:
    """Return the target's records per request id: (received_at_us, held_ms), sorted."""
    with urllib.request.urlopen(f"{base_url}/served", timeout=10) as reply:
        records = json.loads(reply.read())
    served: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for request_id, received_at_ns, held_ns in records:
        served[request_id].append((received_at_ns // 1000, held_ns / 1e6))
    for values in served.values():
        values.sort()
    return served


def served_errors(
    results: list[agent_pb2.CheckResult], served: dict[str, list[tuple[int, float]]]
) -> tuple[list[float], int]:
    """Return reported latency minus the target's held time, per matched result.

    A result matches the target's first record of the same monitor received
    after the check started. The next slot's request is a whole interval
    later.
    """
    errors: list[float] = []
    unmatched = 0
    for result in results:
        records = served.get(result.monitor_id, [])
        index = bisect.bisect_left(records, (result.started_at_us, 0.0))
        if index == len(records):
            unmatched += 1
            continue
        received_at_us, held_ms = records[index]
        if received_at_us - result.started_at_us > result.latency_ms * 1000:
            unmatched += 1
            continue
        errors.append(result.latency_ms - held_ms)
    return errors, unmatched


async def measure_schedule(
    base_url: str, monitors: int, seconds: float, delay_ms: float, workers: int
) -> dict[str, Any]:
    monitor_ids = [str(uuid.uuid4()) for _ in range(monitors)]
    target_for = {m: f"{base_url}/delay?ms={delay_ms:g}&id={m}" for m in monitor_ids}
    fetch_served(base_url)  # forget earlier requests
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(folder, workers)
        agent = Agent(settings)
        runtime.tune_gc()  # as mometrics_agent.app.run does
        stop = asyncio.Event()
        runner = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(1.0)  # let worker processes start
        cpu_before = cpu_seconds()
        pids = [os.getpid(), *child_pids()]
        on_cpu_before, waiting_before = schedstat_s(pids)
        agent.scheduler.replace_all(assignments(monitor_ids, target_for, 1))
        await asyncio.sleep(seconds)
        on_cpu_after, waiting_after = schedstat_s(pids)
        stop.set()
        await runner
        # Worker processes have exited and been waited for by now.
        cpu_s = cpu_seconds() - cpu_before + cpu_seconds(resource.RUSAGE_CHILDREN)
        results = spooled_results(settings.agent_spool_path)
    served = fetch_served(base_url)
    up = [r for r in results if r.status == agent_pb2.CHECK_STATUS_UP]
    errors, unmatched = served_errors(up, served)
    return {
        "monitors": monitors,
        "workers": workers,
        "seconds": seconds,
        "results": len(results),
        "failures": len(results) - len(up),
        "overruns": agent.scheduler.overruns,
        "cpu_s": round(cpu_s, 2),
        # Over the assigned run only, summed over the agent's threads and processes.
        "on_cpu_s": round(on_cpu_after - on_cpu_before, 2),
        "runnable_waiting_s": round(waiting_after - waiting_before, 2),
        "lateness_ms": summary([(r.started_at_us - r.scheduled_at_us) / 1000 for r in results]),
        "latency_minus_delay_ms": summary([r.latency_ms - delay_ms for r in up]),
        "latency_minus_served_ms": summary(errors),
        "unmatched": unmatched,
        "low_confidence": sum(r.is_low_confidence for r in results),
    }


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """Return VmRSS and VmHWM from /proc/PID/status and Pss from smaps_rollup, in MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            fields["Pss"] = int(value.split()[0]) / 1024
    return fields


def child_pids() -> list[int]:
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return [int(pid) for pid in path.read_text().split()]


async def measure_memory(url: str, monitors: int, seconds: float, workers: int) -> dict[str, Any]:
    monitor_ids = [str(uuid.uuid4()) for _ in range(monitors)]
    with tempfile.TemporaryDirectory() as folder:
        agent = Agent(bench_settings(folder, workers))
        runtime.tune_gc()
        stop = asyncio.Event()
        runner = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(1.0)
        before = memory_mb()
        agent.scheduler.replace_all(assignments(monitor_ids, dict.fromkeys(monitor_ids, url), 60))
        await asyncio.sleep(seconds)
        after = memory_mb()
        children = [memory_mb(pid) for pid in child_pids()]
        checks_run = agent.spool.size
        stop.set()
        await runner
    processes = [after, *children]
    return {
        "monitors": monitors,
        "workers": workers,
        "seconds": seconds,
        "checks_run": checks_run,
        "rss_mb_before_assign": round(before["VmRSS"], 1),
        "rss_mb": round(after["VmRSS"], 1),
        "peak_rss_mb": round(after["VmHWM"], 1),
        "processes": len(processes),
        "rss_mb_all_processes": round(sum(p["VmRSS"] for p in processes), 1),
        "pss_mb_all_processes": round(sum(p["Pss"] for p in processes), 1),
    }


def main() -> None:
    mode, url, *rest = sys.argv[1:]
    if mode == "cpu":
        report = runtime.run(measure_cpu(url, int(rest[0]), int(rest[1])))
    elif mode == "schedule":
        monitors, seconds, delay_ms, workers = rest
        report = runtime.run(
            measure_schedule(url, int(monitors), float(seconds), float(delay_ms), int(workers))
        )
    elif mode == "memory":
        report = runtime.run(measure_memory(url, int(rest[0]), float(rest[1]), int(rest[2])))
    else:
        raise SystemExit(f"unknown mode {mode!r}: use cpu, schedule or memory")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
