"""Shapes shared by every check kind.

A check takes a CheckSpec (what to probe and how) and returns a CheckOutcome
(the verdict, timings and reason). Checks never raise for a target's fault:
every failure becomes an outcome with a stable error class.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class ErrorClass(enum.StrEnum):
    """Stable classes of failure, shared with the control plane and users."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    ASSERTION = "assertion"
    PROTOCOL = "protocol"
    INTERNAL = "internal"


@dataclasses.dataclass(frozen=True, slots=True)
class CheckSpec:
    """One monitor as the agent runs it."""

    monitor_id: str
    kind: str
    target: str
    interval_s: int
    timeout_s: float
    # Kind-specific options, as sent by the control plane in options_json.
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    monitor_version: int = 0
    # Reject targets that resolve to loopback, private, link-local,
    # multicast or cloud metadata addresses.
    is_private_blocked: bool = True


@dataclasses.dataclass(slots=True)
class Phases:
    """Per-phase timings in milliseconds; 0 for a phase that did not happen."""

    dns_ms: float = 0.0
    connect_ms: float = 0.0
    tls_ms: float = 0.0
    first_byte_ms: float = 0.0
    transfer_ms: float = 0.0


@dataclasses.dataclass(slots=True)
class CheckOutcome:
    """The verdict of one check run."""

    is_up: bool
    latency_ms: float
    phases: Phases = dataclasses.field(default_factory=Phases)
    status_code: int = 0
    error_class: ErrorClass | None = None
    # The reason for a failure, or a warning (such as a certificate close to
    # expiry) on success.
    message: str = ""
    # Expiry of the peer certificate as Unix seconds, when there was one.
    cert_expires_at: float | None = None

    @classmethod
    def failure(
        cls,
        error_class: ErrorClass,
        message: str,
        latency_ms: float,
        phases: Phases | None = None,
        status_code: int = 0,
    ) -> CheckOutcome:
        return cls(
            is_up=False,
            latency_ms=latency_ms,
            phases=phases or Phases(),
            status_code=status_code,
            error_class=error_class,
            message=message,
        )
