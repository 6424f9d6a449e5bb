"""The per-region state rules, as a pure function of counters and one result.

Region verdicts: `up`, `down`, `degraded` (up but slow), `unknown` (the
region's canary failed, so its failures prove nothing) and `no_data` (no
recent result; set by a periodic sweep, never by a result).
"""

from __future__ import annotations

import dataclasses

from mometrics_control.alerting.settings import AlertSettings

STATUS_UP = 1
STATUS_DOWN = 2
STATUS_UNKNOWN = 3


@dataclasses.dataclass
class RegionCounters:
    """Mutable state of one region of one monitor between results."""

    status: str | None
    failures: int = 0
    successes: int = 0
    slow: int = 0
    # Latest statuses (1 or 2), oldest first, at most the window size.
    recent: list[int] = dataclasses.field(default_factory=list)


def apply_result(
    counters: RegionCounters, status: int, latency_ms: float, rules: AlertSettings
) -> str:
    """Update `counters` with one result and return the region's new verdict."""
    current = counters.status
    if status == STATUS_UNKNOWN:
        # Counters stay as they were: an unknown result is neither evidence
        # of failure nor of recovery. A down region stays down.
        return "down" if current == "down" else "unknown"

    if status == STATUS_UP:
        counters.successes += 1
        counters.failures = 0
        is_slow = rules.degraded_latency_ms is not None and latency_ms > rules.degraded_latency_ms
        counters.slow = counters.slow + 1 if is_slow else 0
        _remember(counters, STATUS_UP, rules)
        if current == "down" and counters.successes < rules.up_after:
            return "down"
        if current == "down":
            # A fresh window after recovery, so old failures cannot turn the
            # region down again on the next single failure.
            counters.recent = [STATUS_UP] if rules.window_size else []
        return "degraded" if counters.slow >= rules.degraded_after else "up"

    counters.failures += 1
    counters.successes = 0
    counters.slow = 0
    _remember(counters, STATUS_DOWN, rules)
    if counters.failures >= rules.down_after or _window_exceeded(counters, rules):
        return "down"
    return current or "no_data"


def _remember(counters: RegionCounters, status: int, rules: AlertSettings) -> None:
    if not rules.window_size:
        counters.recent = []
        return
    counters.recent = [*counters.recent, status][-rules.window_size :]


def _window_exceeded(counters: RegionCounters, rules: AlertSettings) -> bool:
    if rules.failures_in_window is None:
        return False
    return counters.recent.count(STATUS_DOWN) >= rules.failures_in_window
