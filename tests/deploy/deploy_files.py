"""Paths and loaders shared by the static checks of the deploy files."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = [
    REPO_ROOT / "docker-compose.yml",
    REPO_ROOT / "deploy" / "agent" / "docker-compose.yml",
]
PYPROJECTS = [
    REPO_ROOT / "control_plane" / "pyproject.toml",
    REPO_ROOT / "probe_agent" / "pyproject.toml",
    REPO_ROOT / "protos" / "pyproject.toml",
]


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def declared_console_scripts() -> set[str]:
    """Return the console script names declared in the project's pyprojects."""
    scripts: set[str] = set()
    for path in PYPROJECTS:
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        scripts.update(project.get("scripts", {}))
    return scripts
