"""Property-based checks of the live OpenAPI schema with schemathesis.

The app runs under uvicorn on an ephemeral loopback port with a real
database and Redis. Every operation gets a few generated requests, with a
valid bearer token, and each response must not be a 5xx and must match the
schema documented for its status code.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from mometrics_control.api.app import create_app
from mometrics_control.config import load_settings

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def live_server(control_env: dict[str, str]) -> Iterator[str]:
    """Serve the app on 127.0.0.1 with an ephemeral port; return its base URL."""
    config = uvicorn.Config(
        create_app(load_settings()), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _auth_headers(base_url: str) -> dict[str, str]:
    with httpx.Client(base_url=base_url + "/api/v1") as client:
        credentials = {"email": "fuzz@example.org", "password": "s3cret-pass"}
        assert client.post("/auth/register", json=credentials).status_code == 201
        token = client.post("/auth/login", json=credentials).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        monitor = {"name": "fuzzed", "url": "http://127.0.0.1:9/", "regions": ["eu-west"]}
        assert client.post("/monitors", json=monitor, headers=headers).status_code == 201
    return headers


@pytest.mark.timeout(180)
def test_api_conforms_to_openapi(live_server: str) -> None:
    headers = _auth_headers(live_server)
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=live_server, headers=headers)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as err:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")

    assert not failures, "\n\n".join(failures)
    # Every operation was called, and some calls got past validation.
    assert len(statuses) == len(operations)
    assert any(code < 300 for codes in statuses.values() for code in codes)
