"""Streams that break the protocol end with INVALID_ARGUMENT and a reason.

These tests write raw bytes on the Connect stream, so they can send what no
real agent would: bytes that are no AgentMessage, a second Hello, a message
over the size limit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.main import MAX_MESSAGE_BYTES
from tests.gateway.conftest import Gateways, RawStream, hello_bytes, register_agent

REGION = "eu-west"


@pytest.fixture
async def agent_stream(
    gateways: Gateways, database_url: str
) -> AsyncIterator[tuple[RawStream, str]]:
    server = await gateways.start()
    agent_id, token = await register_agent(database_url, REGION)
    stream = RawStream(server.port, token)
    yield stream, agent_id
    await stream.close()


async def test_bytes_after_hello_end_stream(
    agent_stream: tuple[RawStream, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given an agent past its Hello
    stream, agent_id = agent_stream
    await stream.hello(agent_id, REGION)

    # When it writes bytes that are no AgentMessage
    with caplog.at_level(logging.WARNING, logger="mometrics.gateway"):
        await stream.write(b"\xff\xff\xff\xff not protobuf")
        code, details = await stream.outcome()

    # Then the stream ends with INVALID_ARGUMENT naming the problem
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid AgentMessage" in details
    # and the gateway logs it with the agent id
    violations = [r for r in caplog.records if r.getMessage() == "agent broke the protocol"]
    assert len(violations) == 1
    assert violations[0].agent_id == agent_id


async def test_bytes_instead_of_hello_end_stream(agent_stream: tuple[RawStream, str]) -> None:
    stream, _ = agent_stream

    await stream.write(b"\x0a\xff\xff")
    code, details = await stream.outcome()

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid AgentMessage" in details
    assert stream.received == []


async def test_batch_before_hello_ends_stream(agent_stream: tuple[RawStream, str]) -> None:
    stream, _ = agent_stream
    batch = agent_pb2.AgentMessage(batch=agent_pb2.ResultBatch(batch_id="early"))

    await stream.write(batch.SerializeToString())
    code, details = await stream.outcome()

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "first message must be Hello" in details


async def test_second_hello_ends_stream(agent_stream: tuple[RawStream, str]) -> None:
    stream, agent_id = agent_stream
    await stream.hello(agent_id, REGION)

    await stream.write(hello_bytes(agent_id, REGION))
    code, details = await stream.outcome()

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Hello was sent twice" in details


async def test_message_over_size_limit_ends_stream(agent_stream: tuple[RawStream, str]) -> None:
    # Given an agent past its Hello
    stream, agent_id = agent_stream
    await stream.hello(agent_id, REGION)

    # When it sends a batch larger than the gateway's message size limit
    result = agent_pb2.CheckResult(monitor_id="m", error_message="x" * 1_000_000)
    batch = agent_pb2.ResultBatch(batch_id="huge", results=[result] * 17)
    payload = agent_pb2.AgentMessage(batch=batch).SerializeToString()
    assert len(payload) > MAX_MESSAGE_BYTES
    await stream.write(payload)
    code, details = await stream.outcome()

    # Then the stream ends with an error status that names the size
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(MAX_MESSAGE_BYTES) in details
