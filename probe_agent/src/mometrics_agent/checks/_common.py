"""Pieces shared by the check kinds: the phase recorder, typed failures and
option parsing.

Timings use the monotonic clock (``time.monotonic``, the clock asyncio's
timeouts use). A check moves one recorder through its phases with
``switch``; at most one phase is open at a time, so the phases never overlap
and their sum never exceeds the total latency.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from mometrics_agent.checks.base import CheckOutcome, ErrorClass, Phases

PHASES = ("dns", "connect", "tls", "first_byte", "transfer")

# How a phase reads in a timeout message ("timed out after 5s while ...").
PHASE_LABELS = {
    "dns": "resolving the name",
    "connect": "connecting",
    "tls": "performing the TLS handshake",
    "first_byte": "waiting for the first byte",
    "transfer": "reading the response",
}


class CheckFailure(Exception):
    """A verdict of failure raised from inside a check.

    ``run_check`` turns it into a ``CheckOutcome``; the message is shown to
    users as is, so it must be short and free of stack traces.
    """

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message


class OptionError(CheckFailure):
    """An option that the check cannot run with (a monitor misconfiguration).

    Reported as ErrorClass.INTERNAL: the target is not at fault, and the
    control plane should have rejected the value.
    """

    def __init__(self, message: str) -> None:
        super().__init__(ErrorClass.INTERNAL, f"invalid options: {message}")


class Recorder:
    """Collects the timings and partial results of one check run."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self.t0 = time.monotonic()
        self.deadline = self.t0 + timeout_s if timeout_s else math.inf
        self.phases = Phases()
        self._phase: str | None = None
        self._since = self.t0
        # What the check is doing when no timed phase is open, for messages.
        self.activity = "starting"
        self.status_code = 0
        self.cert_expires_at: float | None = None
        # Where the total latency ends, once the last response byte is in.
        # None means it runs until the outcome is made.
        self.end: float | None = None
        self._starts_with_phase = False

    def start(self, at_first_phase: bool = False) -> None:
        """Start the clock: called once setup is done and the network comes next.

        Parsing options and building a TLS context (tens of milliseconds the
        first time the system store loads) are the agent's cost, not the
        target's latency. The deadline stays where it was. With
        ``at_first_phase``, the clock starts again when the first phase
        opens, for a library that does its own preparation in between.
        """
        self.t0 = self._since = time.monotonic()
        self._starts_with_phase = at_first_phase

    def _now(self) -> float:
        # Nothing done after the deadline (cleanup of a cancelled check)
        # counts towards the timings.
        return min(time.monotonic(), self.deadline)

    @property
    def phase(self) -> str | None:
        return self._phase

    def switch(self, phase: str | None, at: float | None = None) -> None:
        """Close the open phase (if any) and open ``phase`` (if not None).

        ``at`` is a ``time.monotonic()`` reading from when the event
        happened, such as in a protocol callback, for a boundary recorded
        later. It defaults to now.
        """
        now = self._now() if at is None else min(at, self.deadline)
        if self._starts_with_phase and phase is not None:
            self._starts_with_phase = False
            self.t0 = now
        if self._phase is not None:
            attr = f"{self._phase}_ms"
            setattr(self.phases, attr, getattr(self.phases, attr) + (now - self._since) * 1000.0)
        self._phase = phase
        self._since = now
        if phase is not None:
            self.activity = PHASE_LABELS[phase]

    def note(self, activity: str) -> None:
        """Say what the check is doing outside the timed phases."""
        self.switch(None)
        self.activity = activity

    def finish_at(self, at: float) -> None:
        """Close the open phase and end the total latency at ``at``.

        Work done afterwards (body assertions) is the agent's, not the
        target's, so it counts in no timing.
        """
        self.switch(None, at)
        self.end = min(at, self.deadline)

    def elapsed_ms(self) -> float:
        end = self._now() if self.end is None else self.end
        return (end - self.t0) * 1000.0

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def _finish(self) -> tuple[float, Phases]:
        self.switch(None)
        return self.elapsed_ms(), Phases(
            **{f"{p}_ms": getattr(self.phases, f"{p}_ms") for p in PHASES}
        )

    def ok(self, message: str = "") -> CheckOutcome:
        latency, phases = self._finish()
        return CheckOutcome(
            is_up=True,
            latency_ms=latency,
            phases=phases,
            status_code=self.status_code,
            message=message,
            cert_expires_at=self.cert_expires_at,
        )

    def fail(self, error_class: ErrorClass, message: str) -> CheckOutcome:
        latency, phases = self._finish()
        outcome = CheckOutcome.failure(
            error_class, message, latency, phases, status_code=self.status_code
        )
        outcome.cert_expires_at = self.cert_expires_at
        return outcome


# --- option parsing ---------------------------------------------------------


def opt_bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise OptionError(f"{key} must be true or false")


def opt_int(
    options: Mapping[str, Any],
    key: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    value = options.get(key, default)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()))
    ):
        raise OptionError(f"{key} must be a whole number")
    value = int(value)
    if value < minimum:
        raise OptionError(f"{key} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise OptionError(f"{key} must be at most {maximum}")
    return value


def opt_str(options: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = options.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise OptionError(f"{key} must be a string")
    return value


def opt_choice(options: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = opt_str(options, key, default) or default
    value = value.lower()
    if value not in choices:
        raise OptionError(f"{key} must be one of {', '.join(choices)}")
    return value


# --- targets and text -------------------------------------------------------


def parse_host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    """Split "host:port", "[v6]:port", or a bare host when a default port exists."""
    target = target.strip()
    if not target:
        raise OptionError("target is empty")
    host, port_text = target, ""
    if target.startswith("["):
        end = target.find("]")
        if end < 0:
            raise OptionError(f"target {target!r} has an unclosed '['")
        host, rest = target[1:end], target[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise OptionError(f"target {target!r} is not host:port")
            port_text = rest[1:]
    elif target.count(":") == 1:
        host, port_text = target.split(":")
    elif target.count(":") > 1:
        # A bare IPv6 address without a port.
        host = target
    if not port_text:
        if default_port is None:
            raise OptionError(f"target {target!r} needs a port (host:port)")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise OptionError(f"target {target!r} has an invalid port")
    if not host:
        raise OptionError(f"target {target!r} has no host")
    return host, int(port_text)


def format_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def snippet(data: bytes | str, limit: int = 60) -> str:
    """A short, printable excerpt of received data for messages."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text[: limit + 1]
    shown = repr(text[:limit])
    return shown[:-1] + "...'" if len(text) > limit and shown.endswith("'") else shown


def oserror_text(exc: BaseException) -> str:
    """A one-line description of a socket error, without Python's decorations."""
    import os

    errno = getattr(exc, "errno", None)
    if isinstance(errno, int) and errno > 0:
        try:
            return os.strerror(errno).lower()
        except ValueError:
            pass
    text = str(exc) or type(exc).__name__
    if text.startswith("Multiple exceptions:"):
        return "every address failed (" + text.removeprefix("Multiple exceptions: ") + ")"
    return text.splitlines()[0][:200]
