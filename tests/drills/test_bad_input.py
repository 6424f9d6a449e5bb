"""Drill: bad input on the gRPC stream, the gRPC port and the REST API.

Each bad request must fail on its own: the gateway and the api keep
running, a connected agent keeps storing its results, and the next good
request is answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
from typing import Any

import grpc
import pytest
import schemathesis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings

from mometrics.probe.v1 import agent_pb2
from mometrics_agent.client import agent_id_from_token
from tests.drills.ledger import Ledger, record, scaled
from tests.drills.load import INTERVAL_S, create_load
from tests.drills.servers import LoadTarget
from tests.drills.stack import ApiClient, DrillStack, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.e2e]

REGION = "drill-f"
CONNECT = "/mometrics.probe.v1.AgentService/Connect"
# Above the gateway's 16 MiB receive limit.
OVERSIZED_BYTES = 17 * 1024 * 1024


async def send_raw(address: str, token: str, frames: list[bytes]) -> grpc.StatusCode:
    """Open a Connect stream, write `frames` as they are and return the final status."""
    async with grpc.aio.insecure_channel(address) as channel:
        connect = channel.stream_stream(CONNECT)
        call = connect(metadata=(("authorization", f"Bearer {token}"),), timeout=15)
        try:
            for frame in frames:
                await call.write(frame)
            await call.done_writing()
            async for _ in call:
                pass
        except grpc.aio.AioRpcError as err:
            return err.code()
        code: grpc.StatusCode = await call.code()
        return code


def hello(token: str, region: str) -> bytes:
    message = agent_pb2.AgentMessage(
        hello=agent_pb2.Hello(
            agent_id=agent_id_from_token(token), region=region, protocol_version=1
        )
    )
    return message.SerializeToString()


async def gateway_serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def random_bytes_to(port: int, size: int, rng: random.Random) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(rng.randbytes(size))
        sock.settimeout(2)
        try:
            sock.recv(1024)
        except OSError:
            pass


def fuzz_rest(base_url: str, headers: dict[str, str], examples: int) -> dict[str, int]:
    """Send generated requests to every documented operation; count them by status class."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    counts = {"requests": 0, "server_errors": 0}
    for result in schema.get_all_operations():
        # An operation whose schema cannot be used raises here and fails the drill.
        operation = result.ok()  # type: ignore[union-attr]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            response = case.call(base_url=base_url.removesuffix("/api/v1"), headers=headers)
            counts["requests"] += 1
            counts["server_errors"] += response.status_code >= 500

        call()
    return counts


async def test_bad_input_leaves_services_up(
    stack: DrillStack, target: LoadTarget, database_url: str
) -> None:
    rng = random.Random(int(os.environ.get("MOMETRICS_DRILL_SEED", "1")))
    ledger = Ledger(database_url, target)
    stack.start_api()
    port = stack.start_gateway()
    address = f"127.0.0.1:{port}"
    token = stack.create_agent(REGION)
    stack.start_agent("agent", REGION, token, address)
    other_token = stack.create_agent("drill-other")
    outcomes: dict[str, Any] = {}

    async with ApiClient.signed_in(stack.api_url, "drill-f@example.org") as api:
        await create_load(api, ledger, target, [REGION], 3)
        await wait_until(ledger.every_monitor_stored, 3 * INTERVAL_S, "a result of every monitor")
        before = sum(len(slots) for slots in (await ledger.stored_slots()).values())

        # When the stream receives bytes that are not an AgentMessage
        outcomes["malformed_message"] = await send_raw(
            address, other_token, [hello(other_token, "drill-other"), b"\x12\xff\xff\xff\xff\x0f"]
        )
        # When a message exceeds the receive limit
        outcomes["oversized_message"] = await send_raw(
            address, other_token, [b"\x0a" + b"\x00" * OVERSIZED_BYTES]
        )
        # When an agent's Hello names a region its token is not registered in
        outcomes["region_mismatch"] = await send_raw(
            address, other_token, [hello(other_token, REGION)]
        )
        # When the gRPC port receives random bytes instead of HTTP/2
        random_rounds = scaled(5, 50)
        for _ in range(random_rounds):
            random_bytes_to(port, rng.randint(1, 65536), rng)
        outcomes["random_bytes_rounds"] = random_rounds

        # Then the gateway responds and the agent's results keep arriving
        assert await gateway_serving(address)

        async def more_results() -> bool:
            stored = sum(len(slots) for slots in (await ledger.stored_slots()).values())
            return stored > before

        await wait_until(more_results, 3 * INTERVAL_S, "new results after the bad input")

        # When the REST API receives generated requests for every operation
        headers = {"Authorization": api.client.headers["Authorization"]}
        examples = scaled(3, 25)
        rest = await asyncio.to_thread(fuzz_rest, stack.api_url, headers, examples)

        # Then it still responds to a good request
        health = await api.client.get("/health")
        monitors = await api.client.get("/monitors")
        stack.assert_running("api", "gateway", "agent")

    record(
        "bad_input",
        {
            "title": "bad input on the gRPC stream, the gRPC port and the REST API",
            "load": f"one agent with 3 monitors at {INTERVAL_S} s",
            "fault": (
                "malformed and oversized protobuf messages, a Hello with a region "
                f"mismatch, {random_rounds} connections of random bytes, "
                f"{rest['requests']} generated REST requests ({examples} per operation)"
            ),
            "grpc_status": {key: getattr(value, "name", value) for key, value in outcomes.items()},
            "rest_requests": rest["requests"],
            "rest_server_errors": rest["server_errors"],
            "services_up_after": True,
        },
    )
    # NOTE: the gateway ends a stream that carries an unparsable message with
    # status OK (the reader stops and the session closes) rather than
    # INVALID_ARGUMENT. The drill checks that the stream is closed, not how.
    assert outcomes["malformed_message"] != grpc.StatusCode.DEADLINE_EXCEEDED
    assert outcomes["oversized_message"] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert outcomes["region_mismatch"] == grpc.StatusCode.PERMISSION_DENIED
    assert health.status_code == 200
    assert monitors.status_code == 200
    assert json.loads(monitors.text)
