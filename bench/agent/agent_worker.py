"""Agent side of the benchmark, one measurement per run, printed as JSON.

    python bench/agent/agent_worker.py cpu URL COUNT CONCURRENCY
    python bench/agent/agent_worker.py schedule URL MONITORS SECONDS DELAY_MS
    python bench/agent/agent_worker.py memory URL MONITORS SECONDS

`cpu` runs COUNT HTTP checks with the agent's check code and reports the
process CPU time. `schedule` runs the agent's scheduler with MONITORS
monitors at a 1 s interval (MONITORS checks per second) for SECONDS and
stores every result in a real spool. It reports how late checks started and
how far reported latency is from the target's injected DELAY_MS. `memory`
runs the whole Agent with MONITORS monitors at a 60 s interval and reports
its resident memory.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from mometrics.probe.v1 import agent_pb2
from mometrics_agent.app import Agent
from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import CheckSpec
from mometrics_agent.config import AgentSettings
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import Scheduler
from mometrics_agent.spool import Spool


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index], 3)


def summary(values: list[float]) -> dict[str, float]:
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
    return {"checks": count, "failures": failures, "cpu_s": round(cpu_s, 3), "wall_s": wall_s}


def assignments(url: str, monitors: int, interval_s: int) -> list[agent_pb2.Assignment]:
    return [
        agent_pb2.Assignment(
            monitor_id=str(uuid.uuid4()),
            kind="http",
            target=url,
            interval_s=interval_s,
            timeout_s=5,
            monitor_version=1,
        )
        for _ in range(monitors)
    ]


async def measure_schedule(
    url: str, monitors: int, seconds: float, delay_ms: float
) -> dict[str, Any]:
    results: list[agent_pb2.CheckResult] = []
    with tempfile.TemporaryDirectory() as folder:
        spool = Spool(Path(folder) / "spool.sqlite3", max_results=10_000_000)

        def sink(result: agent_pb2.CheckResult) -> None:
            spool.add([result])
            results.append(result)

        lag = LoopLagMonitor()
        lag.start()
        scheduler = Scheduler(sink, concurrency=256, allow_private=True, lag=lag)
        cpu_before = cpu_seconds()
        scheduler.replace_all(assignments(url, monitors, 1))
        await asyncio.sleep(seconds)
        await scheduler.stop(grace_s=10)
        cpu_s = cpu_seconds() - cpu_before
        await lag.stop()
        spool.close()
    up = [r for r in results if r.status == agent_pb2.CHECK_STATUS_UP]
    return {
        "monitors": monitors,
        "seconds": seconds,
        "results": len(results),
        "failures": len(results) - len(up),
        "overruns": scheduler.overruns,
        "cpu_s": round(cpu_s, 2),
        "lateness_ms": summary([(r.started_at_us - r.scheduled_at_us) / 1000 for r in results]),
        "latency_error_ms": summary([r.latency_ms - delay_ms for r in up]),
        "low_confidence": sum(r.is_low_confidence for r in results),
    }


def resident_mb() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


async def measure_memory(url: str, monitors: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        # The gateway address is a closed loopback port: the client keeps
        # reconnecting in the background while the scheduler is fed directly.
        settings = AgentSettings(
            gateway_address="127.0.0.1:9",
            agent_token="mma_" + uuid.uuid4().hex + "_benchsecret",
            agent_region="bench",
            agent_spool_path=Path(folder) / "spool.sqlite3",
            agent_metrics_port=0,
            allow_private_targets=True,
        )
        agent = Agent(settings)
        stop = asyncio.Event()
        runner = asyncio.create_task(agent.run(stop))
        before = resident_mb()
        agent.scheduler.replace_all(assignments(url, monitors, 60))
        await asyncio.sleep(seconds)
        after = resident_mb()
        checks = agent.spool.size
        stop.set()
        await runner
    return {
        "monitors": monitors,
        "seconds": seconds,
        "checks_run": checks,
        "rss_mb_before_assign": before["VmRSS"],
        "rss_mb": after["VmRSS"],
        "peak_rss_mb": after["VmHWM"],
    }


def main() -> None:
    mode, url, *rest = sys.argv[1:]
    if mode == "cpu":
        report = asyncio.run(measure_cpu(url, int(rest[0]), int(rest[1])))
    elif mode == "schedule":
        report = asyncio.run(measure_schedule(url, int(rest[0]), float(rest[1]), float(rest[2])))
    elif mode == "memory":
        report = asyncio.run(measure_memory(url, int(rest[0]), float(rest[1])))
    else:
        raise SystemExit(f"unknown mode {mode!r}: use cpu, schedule or memory")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
