"""Process setup of the agent: event loop choice, garbage collection, new settings."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from mometrics_agent import runtime
from mometrics_agent.config import ConfigError, load_settings

TOKEN = "mma_" + "a" * 32 + "_setuptests"


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.parametrize(
    ("kind", "expected_module"),
    [("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events"), ("auto", "uvloop")],
    ids=["uvloop", "asyncio", "auto-picks-uvloop"],
)
def test_run_uses_chosen_event_loop(kind: runtime.EventLoopKind, expected_module: str) -> None:
    assert runtime.run(loop_module(), kind) == expected_module


def test_tune_gc_freezes_and_raises_threshold() -> None:
    code = (
        "import gc; from mometrics_agent import runtime; runtime.tune_gc();"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 1000)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()

    assert output == [str(runtime.GC_YOUNG_THRESHOLD), "True"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"agent_workers": 0},
            "MOMETRICS_AGENT_WORKERS: Input should be greater than or equal to 1",
        ),
        (
            {"agent_workers": 65},
            "MOMETRICS_AGENT_WORKERS: Input should be less than or equal to 64",
        ),
        ({"agent_event_loop": "tokio"}, "MOMETRICS_AGENT_EVENT_LOOP: Input should be 'auto'"),
    ],
    ids=["workers-zero", "workers-too-many", "event-loop-unknown"],
)
def test_settings_reject_bad_values(overrides: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(agent_token=TOKEN, agent_region="eu-west", **overrides)


def test_settings_accept_workers() -> None:
    settings = load_settings(
        agent_token=TOKEN, agent_region="eu-west", agent_workers=4, agent_event_loop="asyncio"
    )

    assert settings.agent_workers == 4
    assert settings.agent_event_loop == "asyncio"
