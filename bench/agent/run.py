"""Benchmark of the probe agent against prometheus-blackbox-exporter, on loopback.

    .venv/bin/python bench/agent/run.py [--workers N] [--measures cpu,curl,...]

Starts a local target server (target_server.py) and blackbox_exporter
(Debian package prometheus-blackbox-exporter) on free loopback ports, then
measures, each in a bounded run of at most about a minute:

* cpu: CPU seconds per HTTP check, the agent's check code (agent_worker.py
  cpu) against blackbox_exporter's /probe, both at the same concurrency
  against the same target. The exporter's CPU time is read from /proc.
* curl: curl's `-w time_total` against the target's injected delay, the
  reference for what the target and the machine add on their own;
* schedule: scheduling lateness and latency error of the whole agent at
  each rate of --rates checks per second;
* memory: resident memory of the whole agent with 10,000 assigned monitors.

Latency errors are given twice: against the nominal delay, and against the
delay that the target recorded for each request (see target_server.py).

Prints one JSON report. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
CPU_CHECKS = 3000
CPU_CONCURRENCY = 50
CURL_RUNS = 100
MEMORY_MONITORS = 10_000
MEMORY_SECONDS = 30
MEASURES = ("cpu", "curl", "schedule", "memory")
BLACKBOX_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def process_cpu_s(pid: int) -> float:
    """Return user plus system CPU seconds of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def read_autogroup() -> str:
    path = Path("/proc/self/autogroup")
    return path.read_text().strip() if path.exists() else ""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index], 3)


def run_worker(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [PYTHON, str(HERE / "agent_worker.py"), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return report


async def probe_blackbox(bb_port: int, target_url: str, count: int) -> int:
    """Drive /probe `count` times at CPU_CONCURRENCY; return the failed probes."""
    url = f"http://127.0.0.1:{bb_port}/probe"
    params = {"module": "http_2xx", "target": target_url}
    semaphore = asyncio.Semaphore(CPU_CONCURRENCY)
    failures = 0
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            nonlocal failures
            async with semaphore, session.get(url, params=params) as response:
                body = await response.text()
            if "probe_success 1" not in body:
                failures += 1

        await asyncio.gather(*(one() for _ in range(count)))
    return failures


def measure_blackbox(bb_pid: int, bb_port: int, target_url: str) -> dict[str, Any]:
    asyncio.run(probe_blackbox(bb_port, target_url, 50))  # warm-up
    cpu_before, wall_before = process_cpu_s(bb_pid), time.monotonic()
    failures = asyncio.run(probe_blackbox(bb_port, target_url, CPU_CHECKS))
    return {
        "checks": CPU_CHECKS,
        "failures": failures,
        "cpu_s": round(process_cpu_s(bb_pid) - cpu_before, 3),
        "wall_s": round(time.monotonic() - wall_before, 3),
    }


def served_ms(base_url: str) -> dict[str, float]:
    """Return the target's held time of each /delay request since the last call, by id."""
    with urllib.request.urlopen(f"{base_url}/served", timeout=10) as reply:
        records = json.loads(reply.read())
    return {request_id: held_ns / 1e6 for request_id, _received_at_ns, held_ns in records}


def measure_curl(base_url: str, delay_ms: int) -> dict[str, Any]:
    served_ms(base_url)
    totals: dict[str, float] = {}
    for run in range(CURL_RUNS):
        request_id = f"curl-{run}"
        output = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{time_total}",
                f"{base_url}/delay?ms={delay_ms}&id={request_id}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        totals[request_id] = float(output) * 1000
    held = served_ms(base_url)
    minus_delay = [total - delay_ms for total in totals.values()]
    minus_served = [total - held[rid] for rid, total in totals.items() if rid in held]
    return {
        "runs": CURL_RUNS,
        "latency_minus_delay_ms": {
            "p50": percentile(minus_delay, 0.5),
            "p99": percentile(minus_delay, 0.99),
        },
        "latency_minus_served_ms": {
            "p50": percentile(minus_served, 0.5),
            "p99": percentile(minus_served, 0.99),
        },
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure the probe agent against blackbox_exporter on loopback; "
        "prints a JSON report."
    )

    parser.add_argument(
        "--measures",
        default=",".join(MEASURES),
        help=f"comma-separated subset of {', '.join(MEASURES)} (default: all)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="check processes of the agent in the schedule and memory runs "
        "(MOMETRICS_AGENT_WORKERS, default 1)",
    )
    parser.add_argument(
        "--rates",
        default="200,1000",
        help="checks per second of the schedule runs, comma-separated (default 200,1000)",
    )
    parser.add_argument(
        "--seconds", type=int, default=15, help="length of each schedule run (default 15)"
    )
    parser.add_argument(
        "--delay-ms", type=int, default=50, help="delay the target injects (default 50)"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of this process and its children (target, exporter, agent); a "
        "negative value (root only) gives them priority over other work on a shared "
        "machine (default 0, unchanged)",
    )

    args = parser.parse_args()
    args.measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    unknown = set(args.measures) - set(MEASURES)
    if unknown:
        parser.error(f"--measures: unknown {', '.join(sorted(unknown))}; use {', '.join(MEASURES)}")

    try:
        args.rates = [int(rate) for rate in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates: {args.rates!r} is not a list of whole numbers")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def set_priority(niceness: int) -> None:
    """Give this process and its future children the niceness ``niceness``.

    With autogroup scheduling (on by default in kernels built with
    CONFIG_SCHED_AUTOGROUP), niceness counts only against processes of the
    same session. So the benchmark also starts a session of its own, which
    is a new autogroup, and sets that group's niceness (sched(7), "The
    autogroup feature").
    """
    os.nice(niceness - os.getpriority(os.PRIO_PROCESS, 0))
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if autogroup.exists() and autogroup.read_text().strip() == "1":
        with contextlib.suppress(PermissionError):
            os.setsid()  # fails for a process group leader, which keeps its session
        Path("/proc/self/autogroup").write_text(str(niceness))


def main() -> None:
    args = parse_args()
    if args.nice:
        set_priority(args.nice)
    target_port, bb_port = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "blackbox.yml"
        config.write_text(BLACKBOX_CONFIG)
        try:
            processes.append(
                subprocess.Popen([PYTHON, str(HERE / "target_server.py"), str(target_port)])
            )
            blackbox = subprocess.Popen(
                [
                    "prometheus-blackbox-exporter",
                    f"--config.file={config}",
                    f"--web.listen-address=127.0.0.1:{bb_port}",
                    "--log.level=warn",
                ]
            )
            processes.append(blackbox)
            wait_for_port(target_port)
            wait_for_port(bb_port)
            report = measure_all(args, target_port, bb_port, blackbox.pid)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)
    print(json.dumps(report, indent=2))


def measure_all(
    args: argparse.Namespace, target_port: int, bb_port: int, bb_pid: int
) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{target_port}"
    ok_url = f"{base_url}/ok"
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "niceness": os.getpriority(os.PRIO_PROCESS, 0),
        "autogroup": read_autogroup(),
        "load_before": os.getloadavg(),
    }
    if "cpu" in args.measures:
        report["cpu"] = measure_cpu(ok_url, bb_pid, bb_port)
    if "curl" in args.measures:
        report["curl"] = measure_curl(base_url, args.delay_ms)
    if "schedule" in args.measures:
        for rate in args.rates:
            report[f"schedule_{rate}"] = run_worker(
                "schedule",
                base_url,
                str(rate),
                str(args.seconds),
                str(args.delay_ms),
                str(args.workers),
            )
    if "memory" in args.measures:
        report["memory"] = run_worker(
            "memory", ok_url, str(MEMORY_MONITORS), str(MEMORY_SECONDS), str(args.workers)
        )
    report["load_after"] = os.getloadavg()
    return report


def measure_cpu(ok_url: str, bb_pid: int, bb_port: int) -> dict[str, Any]:
    agent_cpu = run_worker("cpu", ok_url, str(CPU_CHECKS), str(CPU_CONCURRENCY))
    blackbox_cpu = measure_blackbox(bb_pid, bb_port, ok_url)
    agent_per_check_ms = agent_cpu["cpu_s"] / agent_cpu["checks"] * 1000
    blackbox_per_check_ms = blackbox_cpu["cpu_s"] / blackbox_cpu["checks"] * 1000
    return {
        "agent": agent_cpu,
        "blackbox_exporter": blackbox_cpu,
        "agent_cpu_ms_per_check": round(agent_per_check_ms, 3),
        "blackbox_cpu_ms_per_check": round(blackbox_per_check_ms, 3),
        "agent_to_blackbox_ratio": round(agent_per_check_ms / blackbox_per_check_ms, 2),
        "agent_checks_per_cpu_second": round(1000 / agent_per_check_ms),
    }


if __name__ == "__main__":
    main()
