"""Checks that .env.example lists every MOMETRICS_* variable the code reads.

The names come from the settings classes (their fields with the class's
env_prefix) and from any literal MOMETRICS_* string in the Python sources of
the control plane and the agent. A new field or a new os.environ lookup
therefore fails this test until .env.example documents it.
"""

from __future__ import annotations

import re

from deploy_files import REPO_ROOT
from pydantic_settings import BaseSettings

SOURCE_DIRS = [REPO_ROOT / "control_plane" / "src", REPO_ROOT / "probe_agent" / "src"]
# A literal name: MOMETRICS_ and at least one more word, no trailing `_`.
LITERAL_NAME = re.compile(r"\bMOMETRICS_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")
# An assignment, commented out or not: `NAME=` or `# NAME=` at a line start.
LISTED_NAME = re.compile(r"^#?\s*(MOMETRICS_[A-Z0-9_]+)=", re.MULTILINE)


def settings_variables(settings_class: type[BaseSettings]) -> set[str]:
    prefix = settings_class.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add(alias.upper() if isinstance(alias, str) else f"{prefix}{field_name}".upper())
    return names


def source_variables() -> set[str]:
    names = set()
    for source_dir in SOURCE_DIRS:
        for path in source_dir.rglob("*.py"):
            names.update(LITERAL_NAME.findall(path.read_text(encoding="utf-8")))
    return names


def test_settings_classes_are_found() -> None:
    from mometrics_agent.config import AgentSettings
    from mometrics_control.config import Settings

    assert "MOMETRICS_DATABASE_URL" in settings_variables(Settings)
    assert "MOMETRICS_AGENT_TOKEN" in settings_variables(AgentSettings)


def test_env_example_lists_every_variable() -> None:
    from mometrics_agent.config import AgentSettings
    from mometrics_control.config import Settings

    required = settings_variables(Settings) | settings_variables(AgentSettings)
    required |= source_variables()
    listed = set(LISTED_NAME.findall((REPO_ROOT / ".env.example").read_text(encoding="utf-8")))

    missing = sorted(required - listed)
    assert not missing, "variables missing from .env.example: " + ", ".join(missing)


def test_env_example_lists_no_unknown_variable() -> None:
    from mometrics_agent.config import AgentSettings
    from mometrics_control.config import Settings

    known = settings_variables(Settings) | settings_variables(AgentSettings)
    known |= source_variables()
    listed = set(LISTED_NAME.findall((REPO_ROOT / ".env.example").read_text(encoding="utf-8")))

    unknown = sorted(listed - known)
    assert not unknown, "variables in .env.example that no code reads: " + ", ".join(unknown)


def test_agent_env_example_names_are_agent_settings() -> None:
    from mometrics_agent.config import AgentSettings

    known = settings_variables(AgentSettings)
    path = REPO_ROOT / "deploy" / "agent" / "agent.env.example"
    listed = set(LISTED_NAME.findall(path.read_text(encoding="utf-8")))
    unknown = sorted(listed - known)
    assert not unknown, f"{path.name} lists variables the agent does not read: {unknown}"
    assert {"MOMETRICS_AGENT_TOKEN", "MOMETRICS_AGENT_REGION"} <= listed
