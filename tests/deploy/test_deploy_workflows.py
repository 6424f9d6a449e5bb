"""Checks that the GitHub Actions workflows parse and contain the expected jobs."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_files import REPO_ROOT, load_yaml

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def step_commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def step_actions(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load_yaml(WORKFLOWS / "ci.yml")


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load_yaml(WORKFLOWS / "deploy.yml")


def test_ci_runs_on_push_and_pull_request(ci: dict[str, Any]) -> None:
    on = triggers(ci)
    assert "push" in on
    assert "pull_request" in on


def test_ci_has_expected_jobs(ci: dict[str, Any]) -> None:
    assert {"lint", "typecheck", "test", "dashboard"} <= set(ci["jobs"])


def test_ci_lint_runs_ruff(ci: dict[str, Any]) -> None:
    commands = step_commands(ci["jobs"]["lint"])
    assert "ruff check" in commands
    assert "ruff format --check" in commands


def test_ci_typecheck_runs_mypy(ci: dict[str, Any]) -> None:
    assert "mypy" in step_commands(ci["jobs"]["typecheck"])


def test_ci_tests_use_service_containers(ci: dict[str, Any]) -> None:
    job = ci["jobs"]["test"]
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["redis"]["image"] == "redis:7"
    assert "5432:5432" in job["services"]["postgres"]["ports"]
    assert "6379:6379" in job["services"]["redis"]["ports"]
    commands = step_commands(job)
    assert "make test" in commands
    assert "apt-get install -y nginx" in commands


def test_ci_builds_and_tests_dashboard(ci: dict[str, Any]) -> None:
    job = ci["jobs"]["dashboard"]
    assert job["defaults"]["run"]["working-directory"] == "dashboard"
    commands = step_commands(job).splitlines()
    for expected in ["npm ci", "npm run build", "npm test"]:
        assert expected in commands, f"dashboard job does not run {expected!r}"


def test_deploy_runs_on_push_to_main(deploy: dict[str, Any]) -> None:
    assert triggers(deploy)["push"]["branches"] == ["main"]


def test_deploy_uses_key_from_secrets(deploy: dict[str, Any]) -> None:
    job = deploy["jobs"]["deploy"]
    ssh_steps = [
        step for step in job["steps"] if step.get("uses", "").startswith("webfactory/ssh-agent@")
    ]
    assert len(ssh_steps) == 1
    assert ssh_steps[0]["with"]["ssh-private-key"] == "${{ secrets.DEPLOY_SSH_KEY }}"
    assert "StrictHostKeyChecking=yes" in step_commands(job)


def test_deploy_script_order(deploy: dict[str, Any]) -> None:
    commands = step_commands(deploy["jobs"]["deploy"])
    expected_order = [
        "git pull",
        "docker compose run --rm migrate",
        "docker compose up --build -d",
        "curl --fail",
    ]
    positions = [commands.find(command) for command in expected_order]
    for command, position in zip(expected_order, positions, strict=True):
        assert position >= 0, f"deploy workflow does not run {command!r}"
    assert positions == sorted(positions), "deploy steps run out of order"
    assert "set -euo pipefail" in commands
    assert "/api/v1/health" in commands
