"""Pieces shared by the embedded servers: the error, the lock, ports and pid files."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path

import psutil

logger = logging.getLogger("mometrics.devstack")

LOOPBACK_HOST = "127.0.0.1"

_LOG_TAIL_LINES = 20


class EmbeddedServerError(Exception):
    """An embedded server failed to start or stop; the message names the folder."""


class DataDirLock:
    """Exclusive flock(2) on a lock file, held while one server uses its folder.

    The file stays on disk after release. Deleting it would let two starts lock
    two different files of the same name.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise EmbeddedServerError(
                f"{self.path} is locked by another process (pid {holder}) that "
                "runs a server on this data dir; stop it or choose another data dir"
            ) from None

        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def choose_port(requested: int | None) -> int:
    # NOTE: another program can take the port between this check and the
    # server's bind. The start then fails with "address already in use".
    if requested and is_port_free(requested):
        return requested
    if requested:
        logger.info("Port %d on %s is in use, choosing a free port", requested, LOOPBACK_HOST)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK_HOST, 0))
        return int(sock.getsockname()[1])


def is_port_free(port: int) -> bool:
    # Both servers bind with SO_REUSEADDR, so a port held only by connections
    # in TIME_WAIT is free for them. The wildcard address is checked too
    # because macOS lets a loopback bind shadow a wildcard listener.
    for address in (LOOPBACK_HOST, "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def find_server_process(pid: int, name: str, workdir: Path) -> psutil.Process | None:
    """Return the process `pid` if it is `name` running in `workdir`, else None.

    Both servers run with their data folder as working directory, which separates a
    leftover server from an unrelated program that reuses its pid.
    """
    try:
        process = psutil.Process(pid)
        if process.name() != name:
            return None
        if Path(process.cwd()).resolve() != workdir.resolve():
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return process


def read_pid(path: Path) -> int | None:
    """Return the pid on the first line of a pid file, or None if there is none."""
    try:
        first_line = path.read_text().partition("\n")[0].strip()
    except FileNotFoundError:
        return None
    return int(first_line) if first_line.isdigit() else None


def tail_log(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log file)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])
