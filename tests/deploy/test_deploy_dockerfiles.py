"""Static checks of the Dockerfiles and of the commands the compose files run.

Every build context, Dockerfile and COPY source must exist. Every command
must start a console script declared in the pyprojects, with a known
subcommand, or one of the server programs the stack runs (nginx, certbot,
redis-server).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_files import COMPOSE_FILES, REPO_ROOT, declared_console_scripts, load_yaml

DEPLOY_DIR = REPO_ROOT / "deploy"
# Subcommands of the console scripts, as documented for operators. The
# checks use the CLI's own parser when its module exists.
DOCUMENTED_SUBCOMMANDS = {
    "mometrics-control": {
        "api",
        "gateway",
        "worker",
        "scheduler",
        "migrate",
        "dev",
        "create-user",
        "create-agent",
    },
    "mometrics-agent": {"run"},
}
CLI_MODULES = {
    "mometrics-control": "mometrics_control.cli",
    "mometrics-agent": "mometrics_agent.cli",
}
SERVER_PROGRAMS = {"nginx", "certbot", "redis-server"}
PYTHON_DOCKERFILES = ["Dockerfile.control", "Dockerfile.agent"]
ALL_DOCKERFILES = [*PYTHON_DOCKERFILES, "Dockerfile.dashboard", "Dockerfile.proxy"]


def compose_services() -> list[tuple[Path, str, dict[str, Any]]]:
    found = []
    for path in COMPOSE_FILES:
        for name, service in load_yaml(path)["services"].items():
            found.append((path, name, service))
    return found


def parse_instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs with continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, arguments = stripped.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def parser_subcommands(program: str) -> set[str] | None:
    """Return the subcommands of program's argparse parser, or None without one."""
    try:
        module = importlib.import_module(CLI_MODULES[program])
    except ModuleNotFoundError:
        return None
    build_parser = getattr(module, "build_parser", None)
    if build_parser is None:
        return None
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def allowed_subcommands(program: str) -> set[str]:
    # A CLI module that fails to import is reported by
    # test_cli_has_documented_subcommands; here the documented list is used instead.
    try:
        found = parser_subcommands(program)
    except ImportError:
        found = None
    return DOCUMENTED_SUBCOMMANDS[program] if found is None else found


def check_command(argv: list[str]) -> str | None:
    """Return why argv is not a known entry point, or None when it is one."""
    if not argv:
        return "empty command"
    program = argv[0]
    if program in SERVER_PROGRAMS:
        return None
    if program not in declared_console_scripts():
        return f"{program!r} is not a console script declared in a pyproject.toml"
    allowed = allowed_subcommands(program) if program in CLI_MODULES else set()
    if len(argv) < 2 or argv[1] not in allowed:
        return f"{program} subcommand {argv[1:2]} is not one of {sorted(allowed)}"
    return None


SERVICE_IDS = [f"{path.parent.name}/{name}" for path, name, _ in compose_services()]


@pytest.mark.parametrize(("path", "name", "service"), compose_services(), ids=SERVICE_IDS)
def test_build_context_and_dockerfile_exist(path: Path, name: str, service: dict[str, Any]) -> None:
    build = service.get("build")
    if build is None:
        pytest.skip(f"{name} uses a prebuilt image")
    context = (path.parent / build["context"]).resolve()
    assert context.is_dir(), f"{name}: build context {context} is missing"
    dockerfile = context / build["dockerfile"]
    assert dockerfile.is_file(), f"{name}: Dockerfile {dockerfile} is missing"


@pytest.mark.parametrize(("path", "name", "service"), compose_services(), ids=SERVICE_IDS)
def test_service_command_is_entry_point(path: Path, name: str, service: dict[str, Any]) -> None:
    if "entrypoint" in service:
        # A shell loop, as in the certbot service: it must call a known program.
        entrypoint = service["entrypoint"]
        assert entrypoint[:2] == ["/bin/sh", "-c"], f"{name}: unexpected entrypoint"
        programs = {line.split()[0] for line in entrypoint[2].splitlines() if line.split()}
        assert programs & SERVER_PROGRAMS, f"{name}: the script runs no known program"
        return
    command = service.get("command")
    if command is None:
        pytest.skip(f"{name} keeps its image's default command")
    argv = command if isinstance(command, list) else shlex.split(command)
    problem = check_command(argv)
    assert problem is None, f"{path.name} service {name}: {problem}"


@pytest.mark.parametrize("program", sorted(CLI_MODULES))
def test_cli_has_documented_subcommands(program: str) -> None:
    found = parser_subcommands(program)
    if found is None:
        pytest.skip(f"{CLI_MODULES[program]} has no build_parser yet")
    missing = sorted(DOCUMENTED_SUBCOMMANDS[program] - found)
    assert not missing, f"{program} lacks the documented subcommands {missing}"


def test_check_command_rejects_unknown_program() -> None:
    assert check_command(["mometrics-control", "api"]) is None
    assert check_command(["mometrics-agent", "run"]) is None
    assert check_command(["mometrics-control", "serve"]) is not None
    assert check_command(["uvicorn", "app:main"]) is not None
    assert check_command([]) is not None


@pytest.mark.parametrize("name", ALL_DOCKERFILES)
def test_dockerfile_copy_sources_exist(name: str) -> None:
    for keyword, arguments in parse_instructions(DEPLOY_DIR / name):
        if keyword != "COPY":
            continue
        if "--from=" in arguments:
            continue
        parts = [part for part in arguments.split() if not part.startswith("--")]
        for source in parts[:-1]:
            assert (REPO_ROOT / source).exists(), f"{name}: COPY source {source} missing"


@pytest.mark.parametrize("name", ALL_DOCKERFILES)
def test_dockerfile_images_are_pinned(name: str) -> None:
    arguments = dict(
        argument.split("=", 1)
        for keyword, argument in parse_instructions(DEPLOY_DIR / name)
        if keyword == "ARG" and "=" in argument
    )
    bases = [
        argument.split()[0]
        for keyword, argument in parse_instructions(DEPLOY_DIR / name)
        if keyword == "FROM"
    ]
    assert bases, f"{name} has no FROM"
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda match: arguments[match.group(1)], base)
        tag = image.rpartition(":")[2]
        assert re.match(r"v?\d+\.\d+\.\d+", tag), f"{name}: base image {image} is not pinned"


@pytest.mark.parametrize("name", ["Dockerfile.control", "Dockerfile.agent", "Dockerfile.dashboard"])
def test_dockerfile_is_multistage(name: str) -> None:
    instructions = parse_instructions(DEPLOY_DIR / name)
    stages = [argument for keyword, argument in instructions if keyword == "FROM"]
    assert len(stages) >= 2, f"{name} has one stage"
    # COPY --from=stage or RUN --mount=...,from=stage takes the build output.
    assert any("from=" in argument for keyword, argument in instructions)


@pytest.mark.parametrize("name", PYTHON_DOCKERFILES)
def test_python_image_builds_wheels(name: str) -> None:
    instructions = parse_instructions(DEPLOY_DIR / name)
    runs = [argument for keyword, argument in instructions if keyword == "RUN"]
    assert any("pip wheel" in run for run in runs), f"{name} builds no wheels"
    assert any("--no-index" in run for run in runs), f"{name} installs from an index"
    base = next(argument for keyword, argument in instructions if keyword == "ARG")
    assert "python:3.11" in base
    assert "slim" in base


@pytest.mark.parametrize("name", ALL_DOCKERFILES)
def test_image_runs_as_non_root(name: str) -> None:
    users = [
        argument for keyword, argument in parse_instructions(DEPLOY_DIR / name) if keyword == "USER"
    ]
    assert users, f"{name} sets no USER"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}, f"{name} runs as root"


@pytest.mark.parametrize("name", ALL_DOCKERFILES)
def test_image_default_command_is_entry_point(name: str) -> None:
    commands = [
        argument for keyword, argument in parse_instructions(DEPLOY_DIR / name) if keyword == "CMD"
    ]
    assert commands, f"{name} has no CMD"
    problem = check_command(json.loads(commands[-1]))
    assert problem is None, f"{name}: {problem}"


@pytest.mark.parametrize("name", ALL_DOCKERFILES)
def test_dockerfile_has_own_ignore_file(name: str) -> None:
    # BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile, which
    # keeps .venv and node_modules out of the repository-root context.
    ignore_file = DEPLOY_DIR / f"{name}.dockerignore"
    assert ignore_file.is_file()
    lines = ignore_file.read_text(encoding="utf-8").splitlines()
    assert "*" in lines, f"{ignore_file.name} should exclude everything by default"


def test_proxy_entrypoint_scripts_are_valid_shell() -> None:
    scripts = sorted((DEPLOY_DIR / "nginx" / "entrypoint.d").glob("*.sh"))
    scripts.append(DEPLOY_DIR / "certbot" / "install-certificate.sh")
    assert len(scripts) == 3
    for script in scripts:
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
