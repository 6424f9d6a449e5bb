"""Fixtures of the deploy file checks."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_files import REPO_ROOT, load_yaml


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_yaml(REPO_ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]
