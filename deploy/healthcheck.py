"""Container health check for the Mometrics images.

    python healthcheck.py http URL        exit 0 when GET URL returns 2xx
    python healthcheck.py grpc HOST:PORT  exit 0 when grpc.health.v1 returns SERVING

The slim images ship no curl or grpc_health_probe, so Docker runs this file
with the image's own Python. Any other outcome exits 1 with one line on
stderr naming the target and the failure.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 4.0


def check_http(url: str) -> str | None:
    """Return None when GET url returns a 2xx status, else the failure."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return f"request failed: {err}"
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


def check_grpc(address: str) -> str | None:
    """Return None when the server's overall health status is SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S)
        except grpc.RpcError as err:
            return f"health check failed: {err.code().name}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return f"status {status_name}"
    return None


def main(argv: list[str]) -> int:
    checks = {"http": check_http, "grpc": check_grpc}
    if len(argv) != 2 or argv[0] not in checks:
        print("usage: healthcheck.py http URL | grpc HOST:PORT", file=sys.stderr)
        return 2

    kind, target = argv
    failure = checks[kind](target)
    if failure is not None:
        print(f"unhealthy: {kind} {target}: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
