"""The gateway's part of test now: forward RunCheck requests, publish reports.

Every replica receives every request on CHECK_REQUESTS_CHANNEL and acts only
on those whose agent streams to it. A report is published only when it
replies to a request that this replica sent to that same agent, so an agent
cannot reply for another agent's request.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mometrics.probe.v1 import agent_pb2
from mometrics_control.gateway.session import AgentSession
from mometrics_control.monitors.testnow import (
    REPLY_MARGIN_S,
    decode_request,
    encode_report,
    reply_channel,
)

log = logging.getLogger("mometrics.gateway.testnow")

# Maximum requests awaiting a report. Past it, the oldest are forgotten.
MAX_PENDING = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class _Pending:
    agent_id: str
    expires_at: float


class CheckRelay:
    """RunCheck requests forwarded by this replica, awaiting their reports."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # request id -> the agent asked and when the API stops waiting
        self._pending: dict[str, _Pending] = {}

    def forward(self, sessions: dict[str, AgentSession], data: str) -> None:
        """Send the request in `data` to its agent if the agent streams here."""
        try:
            agent_id, run_check = decode_request(data)
        except ValueError as err:
            log.warning("invalid check request ignored", extra={"error": str(err)})
            return
        session = sessions.get(agent_id)
        if session is None or session.closed.is_set():
            return
        self._forget_expired()
        wait_s = run_check.check.timeout_s + REPLY_MARGIN_S
        self._pending[run_check.request_id] = _Pending(agent_id, time.monotonic() + wait_s)
        session.send(agent_pb2.ControlMessage(run_check=run_check))
        log.info(
            "check request forwarded",
            extra={
                "request_id": run_check.request_id,
                "agent_id": agent_id,
                "monitor_id": run_check.check.monitor_id or None,
            },
        )

    async def publish(self, session: AgentSession, report: agent_pb2.CheckReport) -> None:
        """Publish the agent's report for the API request that waits for it."""
        pending = self._pending.get(report.request_id)
        if pending is None or pending.agent_id != session.agent_id:
            log.warning(
                "unexpected check report ignored",
                extra={"request_id": report.request_id, "agent_id": session.agent_id},
            )
            return
        del self._pending[report.request_id]
        try:
            await self.redis.publish(reply_channel(report.request_id), encode_report(report))
        except (RedisError, OSError) as err:
            # The API reports the region as timed out.
            log.warning(
                "check report not published",
                extra={
                    "request_id": report.request_id,
                    "agent_id": session.agent_id,
                    "error": repr(err),
                },
            )

    def _forget_expired(self) -> None:
        now = time.monotonic()
        expired = [rid for rid, pending in self._pending.items() if pending.expires_at < now]
        for request_id in expired:
            del self._pending[request_id]
        # Insertion order is age order, so this drops the oldest.
        while len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]
