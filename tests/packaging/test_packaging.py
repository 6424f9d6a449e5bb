"""Packaging rules: generated stubs are current, the agent stays light."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_AGENT = {"fastapi", "sqlalchemy", "asyncpg", "psycopg", "psycopg2", "dramatiq"}


def _closure(name: str) -> set[str]:
    """Return the names of every distribution `name` needs, transitively."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        key = re.sub(r"[-_.]+", "-", current).lower()
        if key in seen:
            continue
        seen.add(key)
        for line in distribution(current).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_agent_dependencies_exclude_server_stack() -> None:
    needed = _closure("mometrics-agent")

    assert "mometrics-protocol" in needed
    assert needed.isdisjoint(FORBIDDEN_IN_AGENT), needed & FORBIDDEN_IN_AGENT


def test_agent_imports_without_control_plane() -> None:
    code = (
        "import sys, mometrics_agent.app, mometrics_agent.checks.http;"
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'asyncpg', 'dramatiq', 'mometrics_control')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_stubs_are_current() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_protos.sh"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("command", "env", "expected"),
    [
        (["mometrics-control", "api"], {"MOMETRICS_API_PORT": "eighty"}, "MOMETRICS_API_PORT"),
        (["mometrics-control", "api"], {"MOMETRICS_ENV": "production"}, "MOMETRICS_JWT_SECRET"),
        (
            ["mometrics-control", "gateway"],
            {"MOMETRICS_DATABASE_URL": "mysql://x"},
            "MOMETRICS_DATABASE_URL",
        ),
        (["mometrics-agent", "run"], {"MOMETRICS_AGENT_TOKEN": "x"}, "MOMETRICS_AGENT_REGION"),
        (
            ["mometrics-agent", "run"],
            {"MOMETRICS_AGENT_REGION": "eu-west", "MOMETRICS_AGENT_TOKEN": ""},
            "MOMETRICS_AGENT_TOKEN",
        ),
        (
            ["mometrics-agent", "run"],
            {
                "MOMETRICS_AGENT_REGION": "eu-west",
                "MOMETRICS_AGENT_TOKEN": "mma_x",
                "MOMETRICS_GATEWAY_ADDRESS": "gateway.example.org:443",
            },
            "MOMETRICS_AGENT_TLS",
        ),
    ],
    ids=["bad-port", "no-jwt-secret", "bad-database-url", "no-region", "no-token", "plaintext"],
)
def test_bad_configuration_names_variable(
    command: list[str], env: dict[str, str], expected: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOMETRICS_")}
    executable = str(Path(sys.executable).with_name(command[0]))
    result = subprocess.run(
        [executable, *command[1:]],
        capture_output=True,
        text=True,
        env={**clean, "MOMETRICS_ENV": "development", **env},
        timeout=60,
    )

    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
