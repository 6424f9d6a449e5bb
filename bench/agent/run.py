"""Benchmark of the probe agent against prometheus-blackbox-exporter, on loopback.

    .venv/bin/python bench/agent/run.py

Starts a local target server and blackbox_exporter (Debian package
prometheus-blackbox-exporter) on free loopback ports, then measures, each in
a bounded run of at most about a minute:

* CPU seconds per HTTP check: the agent's check code (agent_worker.py cpu)
  against blackbox_exporter's /probe, both at the same concurrency against
  the same target. The exporter's CPU time is read from /proc.
* the error of reported latency against a target that waits a known delay,
  with curl's -w time_total as a second reference;
* scheduling lateness and latency error at 200 and 1,000 checks per second
  through the agent's scheduler and spool;
* resident memory of the whole Agent with 10,000 assigned monitors.

Prints one JSON report. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
CPU_CHECKS = 3000
CPU_CONCURRENCY = 50
DELAY_MS = 50
CURL_RUNS = 100
SCHEDULE_SECONDS = 15
MEMORY_MONITORS = 10_000
MEMORY_SECONDS = 30
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


def measure_curl(url: str) -> dict[str, Any]:
    errors = []
    for _ in range(CURL_RUNS):
        output = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", url],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        errors.append(float(output) * 1000 - DELAY_MS)
    return {"runs": CURL_RUNS, "p50": percentile(errors, 0.5), "p99": percentile(errors, 0.99)}


def main() -> None:
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
            report = measure_all(target_port, bb_port, blackbox.pid)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)
    print(json.dumps(report, indent=2))


def measure_all(target_port: int, bb_port: int, bb_pid: int) -> dict[str, Any]:
    ok_url = f"http://127.0.0.1:{target_port}/ok"
    delay_url = f"http://127.0.0.1:{target_port}/delay?ms={DELAY_MS}"
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}

    agent_cpu = run_worker("cpu", ok_url, str(CPU_CHECKS), str(CPU_CONCURRENCY))
    blackbox_cpu = measure_blackbox(bb_pid, bb_port, ok_url)
    agent_per_check_ms = agent_cpu["cpu_s"] / agent_cpu["checks"] * 1000
    blackbox_per_check_ms = blackbox_cpu["cpu_s"] / blackbox_cpu["checks"] * 1000
    report["cpu"] = {
        "agent": agent_cpu,
        "blackbox_exporter": blackbox_cpu,
        "agent_cpu_ms_per_check": round(agent_per_check_ms, 3),
        "blackbox_cpu_ms_per_check": round(blackbox_per_check_ms, 3),
        "agent_to_blackbox_ratio": round(agent_per_check_ms / blackbox_per_check_ms, 2),
        "agent_checks_per_cpu_second": round(1000 / agent_per_check_ms),
    }
    report["curl_latency_error_ms"] = measure_curl(delay_url)
    report["schedule_200"] = run_worker("schedule", delay_url, "200", str(SCHEDULE_SECONDS), "50")
    report["schedule_1000"] = run_worker("schedule", delay_url, "1000", str(SCHEDULE_SECONDS), "50")
    report["memory"] = run_worker("memory", ok_url, str(MEMORY_MONITORS), str(MEMORY_SECONDS))
    report["load_after"] = os.getloadavg()
    return report


if __name__ == "__main__":
    main()
