"""Checks of the agent's systemd unit in deploy/agent."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_files import REPO_ROOT, declared_console_scripts

UNIT_PATH = REPO_ROOT / "deploy" / "agent" / "mometrics-agent.service"
INSTALLED_BINARY = "/opt/mometrics-agent/bin/mometrics-agent"


def read_service_section() -> dict[str, list[str]]:
    """Return the [Service] directives; repeated keys keep every value."""
    directives: dict[str, list[str]] = {}
    section = None
    for line in UNIT_PATH.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            section = stripped
            continue
        if section == "[Service]":
            key, _, value = stripped.partition("=")
            directives.setdefault(key, []).append(value)
    return directives


def test_unit_is_hardened() -> None:
    service = read_service_section()
    assert service["DynamicUser"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["Restart"] == ["always"]
    assert service["EnvironmentFile"] == ["/etc/mometrics/agent.env"]
    assert service["StateDirectory"] == ["mometrics-agent"]
    assert service["CapabilityBoundingSet"] == [""]


def test_unit_runs_agent_entry_point() -> None:
    [exec_start] = read_service_section()["ExecStart"]
    program, subcommand = exec_start.split()
    assert program == INSTALLED_BINARY
    assert Path(program).name in declared_console_scripts()
    assert subcommand == "run"


def test_unit_spool_in_state_directory() -> None:
    environment = read_service_section()["Environment"]
    assert "MOMETRICS_AGENT_SPOOL_PATH=/var/lib/mometrics-agent/spool.sqlite3" in environment


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    # The agent is not installed under /opt here, so the copy runs /bin/true.
    unit = tmp_path / UNIT_PATH.name
    unit.write_text(UNIT_PATH.read_text(encoding="utf-8").replace(INSTALLED_BINARY, "/bin/true"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert UNIT_PATH.name not in result.stderr, result.stderr


def test_unit_parses_as_ini() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNIT_PATH, encoding="utf-8")
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    assert parser["Install"]["WantedBy"] == "multi-user.target"
