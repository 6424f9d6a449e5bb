"""Fixtures for the tests that run real embedded PostgreSQL and Valkey servers."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded: starts embedded PostgreSQL and Valkey servers from pip packages",
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Yield an empty data folder and kill any server still running on it afterwards.

    The folder is made under the system temp folder with mode 0755, because
    under root PostgreSQL runs as another account that must reach it, and
    pytest's own tmp_path sits below a folder of mode 0700.
    """
    folder = Path(tempfile.mkdtemp(prefix="mometrics-devstack-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        _kill_servers_in(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _kill_servers_in(folder: Path) -> None:
    """Kill servers that a failed test left running, found by their pid files."""
    pid_files = [
        folder / "postgres" / "postmaster.pid",
        folder / "redis" / "valkey.pid",
    ]
    for pid_file in pid_files:
        try:
            pid = int(pid_file.read_text().partition("\n")[0])
        except (FileNotFoundError, ValueError):
            continue
        try:
            process = psutil.Process(pid)
            if not Path(process.cwd()).is_relative_to(folder):
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        # SIGQUIT makes a postmaster stop its backends and exit at once.
        os.kill(pid, signal.SIGQUIT if process.name() == "postgres" else signal.SIGKILL)
        try:
            process.wait(timeout=10)
        except psutil.TimeoutExpired:
            process.kill()
