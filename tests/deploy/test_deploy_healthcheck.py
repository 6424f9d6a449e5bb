"""Tests of deploy/healthcheck.py against servers started on loopback."""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import grpc
import pytest
from deploy_files import REPO_ROOT
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def load_healthcheck() -> ModuleType:
    path = REPO_ROOT / "deploy" / "healthcheck.py"
    spec = importlib.util.spec_from_file_location("mometrics_deploy_healthcheck", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load_healthcheck()


class StatusHandler(BaseHTTPRequestHandler):
    """Return 200 for /ok and 503 for any other path."""

    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def http_base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def health_server() -> Iterator[tuple[str, health.HealthServicer]]:
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        server.stop(grace=None)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_http_healthy(http_base_url: str) -> None:
    assert healthcheck.main(["http", f"{http_base_url}/ok"]) == 0


def test_http_error_status(http_base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main(["http", f"{http_base_url}/down"]) == 1
    assert "HTTP 503" in capsys.readouterr().err


def test_http_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{unused_port()}/ok"
    assert healthcheck.main(["http", url]) == 1
    assert "request failed" in capsys.readouterr().err


def test_grpc_serving(health_server: tuple[str, health.HealthServicer]) -> None:
    address, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert healthcheck.main(["grpc", address]) == 0


def test_grpc_not_serving(
    health_server: tuple[str, health.HealthServicer], capsys: pytest.CaptureFixture[str]
) -> None:
    address, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert healthcheck.main(["grpc", address]) == 1
    assert "NOT_SERVING" in capsys.readouterr().err


def test_grpc_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main(["grpc", f"127.0.0.1:{unused_port()}"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err


def test_usage_error() -> None:
    assert healthcheck.main(["tcp", "127.0.0.1:1"]) == 2
