"""A redis-server of one drill alone, on a spare loopback port.

The drills stop, restart and `kill -9` this server; the machine's Redis is
never touched. Snapshots are always off; the append-only file is optional,
so a drill can show what a kill loses without it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis

from tests.e2e.stack import free_port

# Dramatiq's Redis broker keeps each queued message in one of these hashes
# (namespace `mometrics-jobs`, queue `default`): ready, and delayed retries.
QUEUE_HASHES = ("mometrics-jobs:default.msgs", "mometrics-jobs:default.DQ.msgs")


class OwnRedis:
    """A redis-server restartable on the same port and data folder."""

    def __init__(self, workdir: Path, is_append_only: bool) -> None:
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir()
        self.is_append_only = is_append_only
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.is_append_only else "no",
            "--dir", str(self.dir),
        ]  # fmt: skip
        with open(self.dir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(15)

    def kill9(self) -> None:
        """Send SIGKILL, as `kill -9` does: no shutdown save, no goodbye to clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(15)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def client(self) -> Redis:
        return Redis.from_url(self.url, socket_timeout=5)

    def queued_jobs(self) -> dict[str, str]:
        """Return every message waiting in the job queue: its id and actor name."""
        with self.client() as client:
            jobs = {}
            for key in QUEUE_HASHES:
                for message_id, raw in client.hgetall(key).items():
                    jobs[message_id.decode()] = str(json.loads(raw)["actor_name"])
            return jobs
