"""Test now: run a monitor once in each of its regions and return the outcomes.

For each region the API picks the agent that may check the monitor there
(rendezvous hashing over the region's live agents, as assignment does) and
publishes one request per region on CHECK_REQUESTS_CHANNEL. Every gateway
replica follows that channel, and the replica with the agent's stream sends
it a RunCheck. The agent runs the check once, outside its schedule, and
replies with a CheckReport, which the gateway publishes on the reply
channel of the request id. Nothing is stored: the results count in no uptime
figure and trigger no alert.

A region without an eligible live agent is missing with reason
"no_coverage". A region whose agent sent nothing back before the monitor's
timeout plus REPLY_MARGIN_S (an old agent that ignores RunCheck, a stream
that dropped) is missing with reason "timed_out".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from typing import Literal

from google.protobuf import json_format
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics.probe.v1 import agent_pb2
from mometrics_control.agents import registry
from mometrics_control.config import Settings
from mometrics_control.errors import Conflict, InvalidInput, RateLimited
from mometrics_control.gateway.assignment import responsible_agent, to_def
from mometrics_control.models import Agent
from mometrics_control.monitors import service
from mometrics_control.monitors.schemas import MonitorCreate
from mometrics_control.results.schemas import Phases

log = logging.getLogger("mometrics.monitors.testnow")

# Gateways subscribe to this channel. Each request names the agent to run it.
CHECK_REQUESTS_CHANNEL = "mometrics:check-requests"
# A gateway publishes the agent's CheckReport on this prefix plus the request id.
CHECK_REPORTS_PREFIX = "mometrics:check-reports:"
# Time allowed beyond the monitor's own timeout for the request and the report
# to travel through Redis, the gateway and the agent's stream.
REPLY_MARGIN_S = 5.0
RATE_LIMIT_WINDOW_S = 60
RATE_LIMIT_MAX_RUNS = 10
SUBSCRIBE_TIMEOUT_S = 5.0
PUBSUB_CLOSE_TIMEOUT_S = 1.0
MAX_MESSAGE_CHARS = 1000

MissingReason = Literal["no_coverage", "timed_out"]


class CheckRunResult(BaseModel):
    """The outcome of one region's check."""

    region: str
    agent_id: uuid.UUID
    status: Literal["up", "down"]
    latency_ms: float
    status_code: int | None
    error_class: str | None
    error_message: str | None
    phases: Phases
    started_at: dt.datetime


class CheckRunMissing(BaseModel):
    """A region that returned no outcome, and why."""

    region: str
    reason: MissingReason


class CheckRunRead(BaseModel):
    results: list[CheckRunResult]
    missing: list[CheckRunMissing]


# The messages on Redis, shared with the gateway.


def reply_channel(request_id: str) -> str:
    return CHECK_REPORTS_PREFIX + request_id


def encode_request(agent_id: str, run_check: agent_pb2.RunCheck) -> str:
    message = json_format.MessageToDict(run_check, preserving_proto_field_name=True)
    return json.dumps({"agent_id": agent_id, "run_check": message})


def decode_request(data: str) -> tuple[str, agent_pb2.RunCheck]:
    """Return the agent id and RunCheck of a request, or raise ValueError if malformed."""
    envelope = json.loads(data)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("agent_id"), str):
        raise ValueError("check request without an agent_id")
    message = envelope.get("run_check")
    if not isinstance(message, dict):
        raise ValueError("check request without a run_check object")
    try:
        run_check = json_format.ParseDict(message, agent_pb2.RunCheck())
    except json_format.ParseError as err:
        raise ValueError(f"invalid RunCheck: {err}") from None
    if not run_check.request_id:
        raise ValueError("RunCheck without a request_id")
    return envelope["agent_id"], run_check


def encode_report(report: agent_pb2.CheckReport) -> str:
    return json_format.MessageToJson(report, preserving_proto_field_name=True, indent=None)


def decode_report(data: str) -> agent_pb2.CheckReport:
    """Parse a published CheckReport, or raise ValueError if malformed."""
    try:
        return json_format.Parse(data, agent_pb2.CheckReport())
    except json_format.ParseError as err:
        raise ValueError(f"invalid CheckReport: {err}") from None


# The API side.


async def run_saved(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    organization_id: uuid.UUID,
    monitor_id: uuid.UUID,
) -> CheckRunRead:
    """Run a saved monitor once in each of its regions, paused or not."""
    monitor = await service.get_owned(session, organization_id, monitor_id)
    if monitor.kind == "push":
        raise Conflict("push monitors are pinged by a job, not checked by agents; nothing to run")
    definition = to_def(monitor)
    # End the transaction, so no connection stays checked out while agents run.
    await session.rollback()
    await _count_run(redis, organization_id)
    # The agent that checks the monitor on schedule runs the test as well.
    return await _run(
        session,
        redis,
        settings,
        organization_id,
        definition.to_assignment(),
        sorted(definition.regions),
        key=definition.id,
    )


async def run_draft(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    organization_id: uuid.UUID,
    body: MonitorCreate,
) -> CheckRunRead:
    """Validate an unsaved monitor exactly as creating it would, then run it once."""
    if body.kind == "push":
        raise InvalidInput.for_field(
            "kind", "push monitors are pinged by a job, not checked by agents; nothing to run"
        )
    # The same path as POST /monitors, rolled back: the import's dry run does
    # the same, so a draft that passes here also passes creation.
    try:
        monitor = await service.add_new(
            session, organization_id, body, settings.allow_private_targets
        )
        definition = to_def(monitor)
    finally:
        await session.rollback()
    check = definition.to_assignment()
    check.monitor_id = ""
    check.monitor_version = 0
    await _count_run(redis, organization_id)
    # A random key spreads drafts over the agents of each region.
    return await _run(
        session,
        redis,
        settings,
        organization_id,
        check,
        sorted(definition.regions),
        key=uuid.uuid4().hex,
    )


async def _count_run(redis: Redis, organization_id: uuid.UUID) -> None:
    """Count one run and raise RateLimited past RATE_LIMIT_MAX_RUNS per window."""
    key = f"mometrics:test-now:{organization_id}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, RATE_LIMIT_WINDOW_S, nx=True)
        pipe.ttl(key)
        count, _, ttl_s = await pipe.execute()
    if count > RATE_LIMIT_MAX_RUNS:
        retry_after_s = max(1, int(ttl_s))
        raise RateLimited(
            f"at most {RATE_LIMIT_MAX_RUNS} test runs per {RATE_LIMIT_WINDOW_S} s per "
            f"organisation. Try again in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )


async def _run(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    organization_id: uuid.UUID,
    check: agent_pb2.Assignment,
    regions: list[str],
    key: str,
) -> CheckRunRead:
    agents = await _pick_agents(session, redis, settings, organization_id, regions, key)
    requests = {
        uuid.uuid4().hex: (region, agent_id) for region, agent_id in agents.items() if agent_id
    }
    log.info(
        "test run started",
        extra={
            "monitor_id": check.monitor_id or None,
            "organization_id": str(organization_id),
            "request_ids": ",".join(requests),
            "regions": ",".join(regions),
        },
    )
    started = time.monotonic()
    results = await _dispatch(redis, requests, check, check.timeout_s + REPLY_MARGIN_S)

    missing = [
        CheckRunMissing(region=region, reason="no_coverage")
        for region, agent_id in agents.items()
        if agent_id is None
    ]
    missing.extend(
        CheckRunMissing(region=region, reason="timed_out")
        for request_id, (region, _) in requests.items()
        if request_id not in results
    )
    log.info(
        "test run finished",
        extra={
            "monitor_id": check.monitor_id or None,
            "request_ids": ",".join(requests),
            "results": len(results),
            "missing": len(missing),
            "duration_ms": round((time.monotonic() - started) * 1000),
        },
    )
    return CheckRunRead(
        results=sorted(results.values(), key=lambda r: r.region),
        missing=sorted(missing, key=lambda m: m.region),
    )


async def _pick_agents(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    organization_id: uuid.UUID,
    regions: list[str],
    key: str,
) -> dict[str, str | None]:
    """Return the agent to run the check in each region, None where none is live.

    Like assignment, only shared agents and the organisation's own agents
    are eligible, and revoked agents never are.
    """
    liveness_s = float(settings.heartbeat_interval_s * settings.liveness_heartbeats)
    live = {region: await registry.live_agents(redis, region, liveness_s) for region in regions}
    candidates = set()
    for agent_ids in live.values():
        for agent_id in agent_ids:
            with contextlib.suppress(ValueError):
                candidates.add(uuid.UUID(agent_id))
    eligible = set()
    if candidates:
        rows = await session.execute(
            select(Agent.id, Agent.organization_id).where(
                Agent.id.in_(candidates), Agent.revoked_at.is_(None)
            )
        )
        eligible = {
            str(agent_id)
            for agent_id, agent_org in rows
            if agent_org is None or agent_org == organization_id
        }
        await session.rollback()
    return {
        region: responsible_agent(key, [a for a in agent_ids if a in eligible])
        for region, agent_ids in live.items()
    }


async def _dispatch(
    redis: Redis,
    requests: dict[str, tuple[str, str]],
    check: agent_pb2.Assignment,
    wait_s: float,
) -> dict[str, CheckRunResult]:
    """Publish one request per agent; collect results by request id until `wait_s` passes."""
    if not requests:
        return {}
    results: dict[str, CheckRunResult] = {}
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(*[reply_channel(request_id) for request_id in requests])
        # A report published before the subscription is active would be lost.
        await _await_subscribed(pubsub, len(requests))
        for request_id, (_, agent_id) in requests.items():
            run_check = agent_pb2.RunCheck(request_id=request_id, check=check)
            await redis.publish(CHECK_REQUESTS_CHANNEL, encode_request(agent_id, run_check))
        deadline = time.monotonic() + wait_s
        while len(results) < len(requests):
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                break
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=min(remaining_s, 1.0)
            )
            if message is None or message["type"] != "message":
                continue
            request_id = message["channel"].decode().removeprefix(CHECK_REPORTS_PREFIX)
            if request_id not in requests:
                continue
            region, agent_id = requests[request_id]
            try:
                report = decode_report(message["data"].decode())
                results[request_id] = _to_result(region, agent_id, report.result)
            except (ValueError, OverflowError, OSError) as err:
                log.warning(
                    "invalid check report ignored",
                    extra={"request_id": request_id, "agent_id": agent_id, "error": str(err)},
                )
    finally:
        await _close_pubsub(pubsub)
    return results


async def _await_subscribed(pubsub: PubSub, count: int) -> None:
    confirmed = 0
    deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_S
    while confirmed < count:
        remaining_s = deadline - time.monotonic()
        if remaining_s <= 0:
            raise RedisError(f"Redis confirmed {confirmed} of {count} subscriptions in time")
        message = await pubsub.get_message(timeout=remaining_s)
        if message is not None and message["type"] == "subscribe":
            confirmed += 1


async def _close_pubsub(pubsub: PubSub) -> None:
    # PubSub.aclose() (redis-py 8.2) can wait forever after a cancellation,
    # such as a client that disconnected mid-request, so this waits a second
    # at most and leaves the rest of the teardown in the background.
    with contextlib.suppress(TimeoutError, RedisError, OSError):
        await asyncio.wait_for(asyncio.shield(pubsub.aclose()), PUBSUB_CLOSE_TIMEOUT_S)


def _to_result(region: str, agent_id: str, result: agent_pb2.CheckResult) -> CheckRunResult:
    """Convert an agent's result, or raise ValueError, OverflowError or OSError on a bad time."""
    phases = result.phases
    started_us = result.started_at_us or result.scheduled_at_us
    return CheckRunResult(
        region=region,
        agent_id=uuid.UUID(agent_id),
        status="up" if result.status == agent_pb2.CHECK_STATUS_UP else "down",
        latency_ms=round(result.latency_ms, 3),
        status_code=result.status_code or None,
        error_class=result.error_class or None,
        error_message=result.error_message[:MAX_MESSAGE_CHARS] or None,
        # The protocol sends 0 for a phase that did not happen, such as TLS on
        # plain HTTP. The response shows it as null.
        phases=Phases(
            dns_ms=_phase_ms(phases.dns_ms),
            connect_ms=_phase_ms(phases.connect_ms),
            tls_ms=_phase_ms(phases.tls_ms),
            first_byte_ms=_phase_ms(phases.first_byte_ms),
            transfer_ms=_phase_ms(phases.transfer_ms),
        ),
        started_at=dt.datetime.fromtimestamp(started_us / 1_000_000, dt.UTC),
    )


def _phase_ms(value: float) -> float | None:
    # The protocol sends 0 for a phase that did not happen (TLS on plain HTTP).
    return round(value, 3) if value else None
