"""The content of a notification: one JSON payload, rendered per channel kind."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mometrics_control.models import Incident, Monitor, RegionState

EVENTS = ("down", "up", "reminder", "escalation", "flapping", "flapping_settled", "test")

_HEADLINES = {
    "down": "{name} is DOWN",
    "up": "{name} is UP again",
    "reminder": "{name} is still DOWN",
    "escalation": "{name} is DOWN and unacknowledged",
    "flapping": "{name} is FLAPPING between up and down",
    "flapping_settled": "{name} stopped flapping and is {status}",
    "test": "Test notification from Mometrics",
}


def build_payload(
    event: str,
    monitor: Monitor,
    incident: Incident | None,
    states: list[RegionState],
    now: dt.datetime,
    status: str = "",
) -> dict[str, Any]:
    """Return the payload stored in the outbox and sent to webhooks as JSON."""
    regions = [
        {"region": s.region, "status": s.status, "error": s.last_error}
        for s in sorted(states, key=lambda s: s.region)
        if s.region in monitor.regions
    ]
    down = [r for r in regions if r["status"] == "down"]
    headline = _HEADLINES[event].format(name=monitor.name, status=status or "unknown")
    details = "; ".join(f"{r['region']}: {r['error'] or 'down'}" for r in down)
    summary = f"{headline} ({len(down)} of {len(monitor.regions)} regions down)"
    if details and event != "up":
        summary += f": {details}"
    return {
        "event": event,
        "summary": summary[:1500],
        "at": now.isoformat(),
        "monitor": {
            "id": str(monitor.id),
            "name": monitor.name,
            "kind": monitor.kind,
            "target": monitor.target,
        },
        "incident": None
        if incident is None
        else {
            "id": str(incident.id),
            "opened_at": incident.opened_at.isoformat(),
            "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
            "cause": incident.cause,
        },
        "regions": regions,
    }


def test_payload(channel_name: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "event": "test",
        "summary": f"Test notification from Mometrics to channel {channel_name}",
        "at": now.isoformat(),
        "monitor": None,
        "incident": None,
        "regions": [],
    }


def subject(payload: dict[str, Any]) -> str:
    """Return a one-line subject for email and chat titles."""
    return str(payload["summary"]).split(" (", 1)[0][:200]
