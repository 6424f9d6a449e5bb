"""Monitor-level alerting: quorum, canary, parent, maintenance, reminders."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from sqlalchemy import select, text

from mometrics_control.alerting.models import IncidentEvent, MaintenanceWindow
from mometrics_control.alerting.sweep import sweep

REGIONS = ["ap", "eu", "us"]


async def test_one_region_failing_pages_nobody(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(REGIONS, [channel])
    for region in REGIONS:
        await world.feed(monitor, region, "u")

    await world.feed(monitor, "eu", "ddd")
    await world.step(monitor)

    assert await world.region_status(monitor, "eu") == "down"
    assert await world.incidents(monitor) == []
    assert receiver.requests == []


@pytest.mark.parametrize(("quorum", "pages_at"), [(1, 1), (2, 2), (3, 3)], ids=["k1", "k2", "k3"])
async def test_quorum_k_of_three(world, receiver, quorum: int, pages_at: int) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(REGIONS, [channel], quorum=quorum)
    for region in REGIONS:
        await world.feed(monitor, region, "u")

    for down_count, region in enumerate(REGIONS, start=1):
        await world.feed(monitor, region, "dd")
        await world.step(monitor)
        expected = 1 if down_count >= pages_at else 0
        assert len(await world.incidents(monitor)) == expected, f"{down_count} regions down"
        assert receiver.events() == ["down"] * expected


async def test_quorum_outage_pages_once_per_channel(world, receiver) -> None:  # type: ignore[no-untyped-def]
    first = await world.channel(receiver.url + "/first")
    second = await world.channel(receiver.url + "/second")
    monitor = await world.monitor(REGIONS, [first, second])

    for region in REGIONS:
        await world.feed(monitor, region, "dd")
        # Every regional change enqueues an evaluation; repeats must add nothing.
        await world.step(monitor)
    await world.step(monitor)

    assert sorted(r.path for r in receiver.requests) == ["/first", "/second"]
    assert receiver.events() == ["down", "down"]
    payload = receiver.requests[0].json()
    assert payload["monitor"]["id"] == str(monitor)
    assert "connection refused" in payload["summary"]


async def test_recovery_sends_up_notice(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel])
    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)

    await world.feed(monitor, "eu", "u")
    await world.step(monitor)
    await world.step(monitor)

    incidents = await world.incidents(monitor)
    assert len(incidents) == 1
    assert incidents[0].closed_at is not None
    assert receiver.events() == ["down", "up"]


async def test_failing_canary_marks_unknown(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    canary = await world.monitor(["eu", "us"], is_canary=True)
    monitor = await world.monitor(["eu", "us"], [channel], quorum=1)
    await world.feed(monitor, "eu", "u")

    await world.feed(canary, "eu", "d")
    await world.feed(monitor, "eu", "ddd")
    await world.step(monitor)

    assert await world.region_status(monitor, "eu") == "unknown"
    assert await world.incidents(monitor) == []
    assert receiver.requests == []
    async with world.sessions() as session:
        statuses = await session.scalars(
            text("SELECT status FROM check_results WHERE monitor_id = :id AND region = 'eu'"),
            {"id": monitor},
        )
        assert sorted(statuses) == [1, 3, 3, 3]


async def test_canary_in_other_region_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    canary = await world.monitor(["eu", "us"], is_canary=True)
    monitor = await world.monitor(["eu", "us"])
    await world.feed(canary, "us", "d")

    await world.feed(monitor, "eu", "udd")

    assert await world.region_status(monitor, "eu") == "down"


async def test_parent_outage_pages_parent_only(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    parent = await world.monitor(["eu"], [channel])
    children = [await world.monitor(["eu"], [channel], parent_id=parent) for _ in range(2)]

    # Children are evaluated first, as a queue may order them.
    for monitor in [*children, parent]:
        await world.feed(monitor, "eu", "dd")
    await world.step(*children, parent)
    await world.step(parent, *children)

    assert receiver.events() == ["down"]
    parent_incident = (await world.incidents(parent))[0]
    for child in children:
        (incident,) = await world.incidents(child)
        assert incident.suppressed_reason == "parent"
        assert incident.parent_incident_id == parent_incident.id

    for monitor in [parent, *children]:
        await world.feed(monitor, "eu", "u")
    await world.step(parent, *children)
    assert receiver.events() == ["down", "up"]


async def test_child_still_down_pages_after_parent_recovers(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    parent = await world.monitor(["eu"], [channel])
    child = await world.monitor(["eu"], [channel], parent_id=parent)
    await world.feed(parent, "eu", "dd")
    await world.feed(child, "eu", "dd")
    await world.step(parent, child)

    await world.feed(parent, "eu", "u")
    await world.step(parent, child)

    assert receiver.events() == ["down", "up", "down"]
    assert receiver.requests[-1].json()["monitor"]["id"] == str(child)


async def test_maintenance_suppresses_then_releases(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel])
    now = dt.datetime.now(dt.UTC)
    async with world.sessions() as session:
        session.add(
            MaintenanceWindow(
                id=uuid.uuid4(),
                organization_id=world.organization_id,
                name="upgrade",
                monitor_ids=[monitor],
                timezone="Europe/Berlin",
                starts_at_local=(now - dt.timedelta(minutes=30))
                .astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
                .replace(tzinfo=None),
                duration_s=3600,
                recurrence="none",
            )
        )
        await session.commit()

    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)

    (incident,) = await world.incidents(monitor)
    assert incident.suppressed_reason == "maintenance"
    assert receiver.requests == []

    after = now + dt.timedelta(hours=1)
    await world.deliver_all([str(i) for i in await sweep(world.sessions, after)])
    assert receiver.events() == ["down"]


async def test_reminders_and_escalation(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url + "/team")
    escalation = await world.channel(receiver.url + "/manager")
    monitor = await world.monitor(
        ["eu"],
        [channel],
        reminder_interval_s=600,
        escalation_channel_id=str(escalation),
        escalation_delay_s=1800,
    )
    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)
    now = dt.datetime.now(dt.UTC)

    for minutes in (5, 11, 12, 31, 31):
        ids = await sweep(world.sessions, now + dt.timedelta(minutes=minutes))
        await world.deliver_all([str(i) for i in ids])

    assert [(r.path, r.json()["event"]) for r in receiver.requests] == [
        ("/team", "down"),
        ("/team", "reminder"),
        ("/team", "reminder"),
        ("/manager", "escalation"),
    ]


async def test_acknowledged_incident_gets_no_reminder(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel], reminder_interval_s=600)
    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)
    async with world.sessions() as session:
        (incident,) = await world.incidents(monitor)
        incident = await session.merge(incident)
        incident.acknowledged_at = dt.datetime.now(dt.UTC)
        await session.commit()

    await sweep(world.sessions, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))

    assert receiver.events() == ["down"]


async def test_silent_region_turns_no_data(world) -> None:  # type: ignore[no-untyped-def]
    monitor = await world.monitor(["eu", "us"])
    await world.feed(monitor, "eu", "u")
    await world.feed(monitor, "us", "dd")

    await sweep(world.sessions, dt.datetime.now(dt.UTC))

    assert await world.region_status(monitor, "eu") == "no_data"
    assert await world.region_status(monitor, "us") == "no_data"
    assert await world.incidents(monitor) == []


async def test_incident_timeline_records_events(world) -> None:  # type: ignore[no-untyped-def]
    monitor = await world.monitor(["eu", "us"])
    await world.feed(monitor, "eu", "dd")
    await world.feed(monitor, "us", "dd")
    await world.step(monitor)
    await world.feed(monitor, "eu", "u")
    await world.step(monitor)

    async with world.sessions() as session:
        kinds = list(await session.scalars(select(IncidentEvent.kind).order_by(IncidentEvent.id)))
    assert kinds == ["opened", "notified", "closed"]
