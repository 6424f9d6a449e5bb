"""Fixtures of the fault drills: the loop thread, the load target, the marker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.servers import LoadTarget, LoopThread
from tests.drills.stack import DrillStack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "drill: runs the stack as processes, injects a fault and counts what was lost",
    )


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def target(loop_thread: LoopThread) -> Iterator[LoadTarget]:
    """Return a started HTTP target that records every check it receives."""
    server = LoadTarget(loop_thread).start()
    yield server
    server.stop()


@pytest.fixture
def stack(control_env: dict[str, str], tmp_path: Path) -> Iterator[DrillStack]:
    """Return the drill's process set; every process is stopped at the end."""
    processes = DrillStack(control_env, tmp_path)
    yield processes
    processes.stop()
