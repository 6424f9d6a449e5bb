"""Run the control plane and agents as separate processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The api, gateway and agents of one test, each its own process."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.workdir = workdir
        self.api_port = free_port()
        self.gateway_port = free_port()
        self.env = {
            **os.environ,
            **env,
            "MOMETRICS_API_PORT": str(self.api_port),
            "MOMETRICS_GATEWAY_LISTEN": f"127.0.0.1:{self.gateway_port}",
            "MOMETRICS_HEARTBEAT_INTERVAL_S": "2",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.api_url = f"http://127.0.0.1:{self.api_port}/api/v1"

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(
            args, env={**self.env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT
        )

    def start_control_plane(self) -> None:
        self.start("api", [str(BIN / "mometrics-control"), "api"])
        self.start("gateway", [str(BIN / "mometrics-control"), "gateway"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200:
                    return
            self.assert_running()
            time.sleep(0.2)
        raise AssertionError("api did not become healthy:\n" + self.log("api"))

    def create_agent(self, region: str) -> str:
        output = subprocess.run(
            [str(BIN / "mometrics-control"), "create-agent", "--region", region],
            env=self.env,
            check=True,
            capture_output=True,
        ).stdout
        token: str = json.loads(output)["token"]
        return token

    def start_agent(self, region: str, token: str) -> None:
        self.start(
            f"agent-{region}",
            [str(BIN / "mometrics-agent"), "run", "--metrics-port", "0"],
            {
                "MOMETRICS_GATEWAY_ADDRESS": f"127.0.0.1:{self.gateway_port}",
                "MOMETRICS_AGENT_REGION": region,
                "MOMETRICS_AGENT_TOKEN": token,
                "MOMETRICS_AGENT_SPOOL_PATH": str(self.workdir / f"spool-{region}.sqlite3"),
            },
        )

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-4000:]

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def running_stack(env: dict[str, str], workdir: Path) -> Iterator[Stack]:
    stack = Stack(env, workdir)
    try:
        yield stack
    finally:
        stack.stop()
