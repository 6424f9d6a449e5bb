"""Region verdicts from results stored through the real ingest path."""

from __future__ import annotations

import pytest

from mometrics_control.alerting.rules import RegionCounters, apply_result
from mometrics_control.alerting.settings import AlertSettings


def run(statuses: str, rules: AlertSettings, latency_ms: float = 10.0) -> list[str]:
    counters = RegionCounters(status=None)
    verdicts = []
    for code in statuses:
        status = {"u": 1, "d": 2, "?": 3}[code]
        counters.status = apply_result(counters, status, latency_ms, rules)
        verdicts.append(counters.status)
    return verdicts


@pytest.mark.parametrize(
    ("statuses", "rules", "expected"),
    [
        ("ud", AlertSettings(), "up"),
        ("udd", AlertSettings(), "down"),
        ("uddd", AlertSettings(down_after=3), "down"),
        ("udd", AlertSettings(down_after=3), "up"),
        ("uddu", AlertSettings(), "up"),
        ("uddu", AlertSettings(up_after=2), "down"),
        ("udduu", AlertSettings(up_after=2), "up"),
        ("dudud", AlertSettings(failures_in_window=3, window_size=5), "down"),
        ("duduu", AlertSettings(failures_in_window=3, window_size=5), "up"),
        ("d", AlertSettings(), "no_data"),
        ("u?", AlertSettings(), "unknown"),
        ("udd?", AlertSettings(), "down"),
    ],
    ids=[
        "one-failure",
        "two-failures",
        "three-of-three",
        "two-of-three",
        "recovers",
        "up-after-two-waits",
        "up-after-two",
        "window-three-of-five",
        "window-not-reached",
        "first-failure-no-data",
        "unknown-result",
        "down-stays-down-on-unknown",
    ],
)
def test_apply_result_verdicts(statuses: str, rules: AlertSettings, expected: str) -> None:
    assert run(statuses, rules)[-1] == expected


def test_degraded_after_slow_successes() -> None:
    rules = AlertSettings(degraded_latency_ms=500, degraded_after=2)

    assert run("uu", rules, latency_ms=900) == ["up", "degraded"]
    assert run("uu", rules, latency_ms=100) == ["up", "up"]


def test_window_resets_after_recovery() -> None:
    rules = AlertSettings(failures_in_window=2, window_size=4)

    assert run("ddud", rules) == ["no_data", "down", "up", "up"]


def test_alert_settings_reject_half_window() -> None:
    with pytest.raises(ValueError, match="set together"):
        AlertSettings(failures_in_window=2)
    with pytest.raises(ValueError, match="must not exceed"):
        AlertSettings(failures_in_window=5, window_size=3)


async def test_ingest_turns_region_down(world) -> None:  # type: ignore[no-untyped-def]
    monitor_id = await world.monitor(["eu"])

    first = await world.feed(monitor_id, "eu", "u")
    second = await world.feed(monitor_id, "eu", "d")
    third = await world.feed(monitor_id, "eu", "d")

    assert [(t.previous, t.current) for t in first] == [(None, "up")]
    assert second == []
    assert [(t.previous, t.current) for t in third] == [("up", "down")]
    assert await world.region_status(monitor_id, "eu") == "down"


async def test_ingest_uses_monitor_rules(world) -> None:  # type: ignore[no-untyped-def]
    monitor_id = await world.monitor(["eu"], down_after=5, failures_in_window=3, window_size=6)

    await world.feed(monitor_id, "eu", "udud")
    assert await world.region_status(monitor_id, "eu") == "up"
    await world.feed(monitor_id, "eu", "d")

    assert await world.region_status(monitor_id, "eu") == "down"


async def test_resent_batch_counts_once(world) -> None:  # type: ignore[no-untyped-def]
    monitor_id = await world.monitor(["eu"])
    await world.feed(monitor_id, "eu", "ud")
    world.clock[(monitor_id, "eu")] -= world.clock[(monitor_id, "eu")] - world.start

    transitions = await world.feed(monitor_id, "eu", "ud")

    assert transitions == []
    assert await world.region_status(monitor_id, "eu") == "up"
