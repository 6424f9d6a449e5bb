"""Per-monitor alert rules, stored in `monitors.alert_settings` as JSON."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Longest x-of-y window kept per region.
MAX_WINDOW = 50


class AlertSettings(BaseModel):
    """Rules that turn check results into region and monitor states."""

    model_config = ConfigDict(extra="forbid")

    # Consecutive failures that turn a region down.
    down_after: int = Field(default=2, ge=1, le=MAX_WINDOW)
    # Also down after `failures_in_window` failures among the last
    # `window_size` checks; None turns the rule off.
    failures_in_window: int | None = Field(default=None, ge=1, le=MAX_WINDOW)
    window_size: int | None = Field(default=None, ge=1, le=MAX_WINDOW)
    # Consecutive successes that turn a down region up again.
    up_after: int = Field(default=1, ge=1, le=MAX_WINDOW)
    # A region is degraded after `degraded_after` successes in a row slower
    # than this; None turns the rule off.
    degraded_latency_ms: float | None = Field(default=None, gt=0, le=3_600_000)
    degraded_after: int = Field(default=2, ge=1, le=MAX_WINDOW)
    # A canary's failures in a region mark the organisation's other failures
    # there as unknown, because the region's own network is then suspect.
    is_canary: bool = False
    # Seconds between reminders while an incident stays open and is not
    # acknowledged; None sends none.
    reminder_interval_s: int | None = Field(default=None, ge=60, le=7 * 86_400)
    # Channel paged when an incident stays unacknowledged for the delay.
    escalation_channel_id: uuid.UUID | None = None
    escalation_delay_s: int = Field(default=900, ge=60, le=7 * 86_400)
    # More than `flap_threshold` up/down changes of the monitor within
    # `flap_window_s` make it flapping: one notice, then quiet until it settles.
    flap_threshold: int = Field(default=6, ge=2, le=1000)
    flap_window_s: int = Field(default=3600, ge=60, le=7 * 86_400)

    @model_validator(mode="after")
    def _check_window(self) -> AlertSettings:
        if (self.failures_in_window is None) != (self.window_size is None):
            raise ValueError("failures_in_window and window_size must be set together")
        if self.window_size is not None and self.failures_in_window > self.window_size:  # type: ignore[operator]
            raise ValueError("failures_in_window must not exceed window_size")
        return self


def load_settings(stored: dict[str, Any] | None) -> AlertSettings:
    """Return the rules of a monitor; stored values were validated on write."""
    return AlertSettings.model_validate(stored or {})
