"""Check implementations: ``run_check(spec)`` runs one check and returns its verdict.

Every kind goes through the same frame:

* the whole check, cleanup included, is bounded by ``spec.timeout_s``; on
  expiry the outcome is ``ErrorClass.TIMEOUT`` with a message naming the
  timeout and the phase the check was in, and the phase timings collected
  so far (the open phase counted up to the deadline);
* a failure of the target is an outcome, never an exception; an unexpected
  exception is logged with its traceback and reported as
  ``ErrorClass.INTERNAL`` with a one-line message;
* cancellation from the caller (the scheduler stopping) propagates.

Kinds: ``http`` (see ``checks.http``), ``tcp``, ``dns``, ``tls``, ``grpc``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import sys
from collections.abc import Awaitable, Callable

from mometrics_agent.checks._common import PHASE_LABELS, CheckFailure, Recorder
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass

__all__ = ["KINDS", "close_shared_clients", "preload", "run_check"]

log = logging.getLogger(__name__)

CheckFn = Callable[[CheckSpec, Recorder], Awaitable[CheckOutcome]]


# Module of each kind, imported when a monitor of the kind is first
# assigned (``preload``) or run, so that an agent that never runs gRPC
# checks does not pay for importing grpc.
_MODULES = {
    "http": "http",
    "tcp": "tcp",
    "dns": "dns",
    "tls": "tls",
    "grpc": "grpc_health",
}
KINDS = tuple(_MODULES)


def _load(kind: str) -> CheckFn:
    module = importlib.import_module(f"mometrics_agent.checks.{_MODULES[kind]}")
    check: CheckFn = module.run
    return check


def preload(kind: str) -> None:
    """Import the module of a check kind now, if the kind exists.

    Importing on the first check would stall the event loop for as long
    as the import takes (hundreds of milliseconds for grpc), while other
    checks are due.
    """
    if kind in _MODULES:
        _load(kind)


async def close_shared_clients() -> None:
    """Close what the checks keep open between runs in the running event loop.

    That is the HTTP checks' shared session. Call it before the loop ends.
    Checks that run afterwards open a new one.
    """
    http = sys.modules.get("mometrics_agent.checks.http")
    if http is not None:
        await http.close_shared_client()


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}s"


async def run_check(spec: CheckSpec) -> CheckOutcome:
    """Run one check; never raises except for cancellation by the caller."""
    if spec.kind not in KINDS:
        return CheckOutcome.failure(ErrorClass.INTERNAL, f"unknown check kind {spec.kind!r}", 0.0)
    timeout_s = spec.timeout_s
    if not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) or timeout_s <= 0:
        return CheckOutcome.failure(ErrorClass.INTERNAL, f"invalid timeout {timeout_s!r}", 0.0)

    rec = Recorder(timeout_s)
    try:
        check = _load(spec.kind)
        async with asyncio.timeout(timeout_s):
            return await check(spec, rec)
    except CheckFailure as failure:
        return rec.fail(failure.error_class, failure.message)
    except TimeoutError:
        # Our deadline, or a library's own timeout firing first: either way
        # the target did not answer in time.
        where = PHASE_LABELS.get(rec.phase or "", rec.activity)
        phase = f" (phase {rec.phase})" if rec.phase else ""
        # A timed-out check took the whole timeout, even when the response
        # was in before the time ran out.
        rec.end = None
        return rec.fail(
            ErrorClass.TIMEOUT, f"timed out after {_format_seconds(timeout_s)} while {where}{phase}"
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("internal error in %s check of monitor %s", spec.kind, spec.monitor_id)
        return rec.fail(
            ErrorClass.INTERNAL,
            f"internal error in the {spec.kind} check ({type(exc).__name__})",
        )
