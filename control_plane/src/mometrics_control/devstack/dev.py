"""`mometrics-control dev`: the whole stack on one machine, in the foreground.

Starts (or reuses) PostgreSQL and Redis, applies migrations, seeds a dev
login and three agents, then runs api, gateway, worker, scheduler and one
agent per dev region as child processes. Ctrl-C stops them all; the data
folder keeps the databases, the agent tokens and the agents' spools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mometrics_control.devstack.embedded import resolve_services
from mometrics_control.devstack.seed import DEV_EMAIL, DEV_PASSWORD, DEV_REGIONS, seed

log = logging.getLogger("mometrics.devstack")

STOP_GRACE_S = 15.0
FIRST_AGENT_METRICS_PORT = 9464


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _child_env(database_url: str, redis_url: str, dashboard_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MOMETRICS_ENV="development",
        MOMETRICS_DATABASE_URL=database_url,
        MOMETRICS_REDIS_URL=redis_url,
        MOMETRICS_ALLOW_PRIVATE_TARGETS="true",
        MOMETRICS_DASHBOARD_DIR=dashboard_dir,
    )
    return env


def _start_children(
    env: dict[str, str], tokens: dict[str, str], data_dir: Path
) -> dict[str, subprocess.Popen[bytes]]:
    control = _bin("mometrics-control")
    children = {
        name: subprocess.Popen([control, name], env=env, start_new_session=True)
        for name in ("api", "gateway", "worker", "scheduler")
    }
    gateway = env.get("MOMETRICS_GATEWAY_LISTEN", "127.0.0.1:50051")
    for index, region in enumerate(DEV_REGIONS):
        agent_env = dict(env)
        agent_env.update(
            MOMETRICS_GATEWAY_ADDRESS=gateway,
            MOMETRICS_AGENT_REGION=region,
            MOMETRICS_AGENT_TOKEN=tokens[region],
            MOMETRICS_AGENT_SPOOL_PATH=str(data_dir / "agents" / f"{region}.sqlite3"),
            MOMETRICS_AGENT_METRICS_PORT=str(FIRST_AGENT_METRICS_PORT + index),
        )
        children[f"agent-{region}"] = subprocess.Popen(
            [_bin("mometrics-agent"), "run"], env=agent_env, start_new_session=True
        )
    return children


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # Each child leads its own process group, so a terminal's Ctrl-C reaches
    # only this supervisor, which stops the children before the embedded
    # servers, and a kill also reaches the worker's forked processes.
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for name, child in children.items():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("process did not stop in time; killing it", extra={"process_name": name})
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def run_dev(data_dir: Path, dashboard_dir: str) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url, redis_url, stop_services = resolve_services(data_dir)
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        env = _child_env(database_url, redis_url, str(Path(dashboard_dir).resolve()))
        subprocess.run([_bin("mometrics-control"), "migrate"], env=env, check=True)
        tokens = asyncio.run(seed(database_url, data_dir))
        children = _start_children(env, tokens, data_dir)
        port = env.get("MOMETRICS_API_PORT", "8000")
        print(
            f"\n  Mometrics is starting at http://127.0.0.1:{port}/\n"
            f"  Log in as {DEV_EMAIL} with password {DEV_PASSWORD}\n"
            f"  Agents: {', '.join(DEV_REGIONS)}. Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error(
                        "process exited; stopping the stack",
                        extra={"process_name": name, "exit_code": child.returncode},
                    )
                    stopping = True
                    exit_code = 1
            time.sleep(0.5)
    except subprocess.CalledProcessError as err:
        log.error("migrations failed", extra={"exit_code": err.returncode})
        exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_children(children)
        stop_services()
        log.info("dev stack stopped")
    return exit_code
