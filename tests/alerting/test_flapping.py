"""Flapping is judged on the results' scheduled times, not on evaluation times."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from mometrics_control.alerting import evaluate
from mometrics_control.alerting.models import IncidentEvent, MonitorAlertState
from mometrics_control.alerting.sweep import sweep
from tests.alerting.conftest import INTERVAL_S

# With down_after=2 and up_after=1, "ddu" is one outage and one recovery:
# two changes three intervals apart.
FLAP = {"flap_threshold": 3, "flap_window_s": 10 * INTERVAL_S}


async def evaluate_at(world, monitor: uuid.UUID, now: dt.datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """Evaluate as a worker would at `now`, then deliver what it queued."""
    async with world.sessions() as session:
        ids = await evaluate.evaluate_monitor(session, monitor, now)
        await session.commit()
    await world.deliver_all([str(i) for i in ids])
    return [str(i) for i in ids]


async def alert_state(world, monitor: uuid.UUID) -> MonitorAlertState:  # type: ignore[no-untyped-def]
    async with world.sessions() as session:
        state = await session.get(MonitorAlertState, monitor)
        assert state is not None
        return state


async def test_fast_flapping_notifies_once_then_settles(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel], **FLAP)

    # Given outages and recoveries one interval apart, fed and evaluated as they come
    for _ in range(4):
        await world.feed(monitor, "eu", "dd")
        await world.step(monitor)
        await world.feed(monitor, "eu", "u")
        await world.step(monitor)

    # Then changes 1-3 are notified (down, up, down) and the 4th makes it flapping
    assert receiver.events() == ["down", "up", "down", "flapping"]
    assert (await alert_state(world, monitor)).is_flapping

    # When it keeps flapping, nothing more is sent
    for _ in range(3):
        await world.feed(monitor, "eu", "dd")
        await world.step(monitor)
        await world.feed(monitor, "eu", "u")
        await world.step(monitor)
    assert receiver.events() == ["down", "up", "down", "flapping"]

    # When results cover less than a flap window without change, it still flaps
    await world.feed(monitor, "eu", "u" * 8)
    await world.step(monitor)
    assert receiver.events()[-1] == "flapping"

    # When they cover a whole window, one settled notice reports it up
    await world.feed(monitor, "eu", "uuu")
    await world.step(monitor)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    await world.deliver_all([str(i) for i in await sweep(world.sessions, later)])
    assert receiver.events() == ["down", "up", "down", "flapping", "flapping_settled"]
    assert receiver.requests[-1].json()["summary"].endswith("is up (0 of 1 regions down)")
    assert not (await alert_state(world, monitor)).is_flapping


async def test_replayed_backlog_is_not_flapping(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel], **FLAP)

    # Given three outages twelve intervals apart, so at most two changes
    # fall in any flap window, all replayed within seconds (an agent that
    # reconnects with a spooled backlog), one evaluation per batch
    for _ in range(3):
        await world.feed(monitor, "eu", "dd")
        await world.step(monitor)
        await world.feed(monitor, "eu", "u" * 10)
        await world.step(monitor)

    # Then each outage and recovery is notified, and nothing is flapping
    assert receiver.events() == ["down", "up"] * 3
    assert not (await alert_state(world, monitor)).is_flapping
    incidents = await world.incidents(monitor)
    assert len(incidents) == 3
    assert all(i.suppressed_reason is None for i in incidents)


async def test_slow_evaluation_still_sees_flapping(world, receiver) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel(receiver.url)
    monitor = await world.monitor(["eu"], [channel], **FLAP)
    now = dt.datetime.now(dt.UTC)

    # Given fast outages whose evaluations run hours apart (a worker backlog)
    for cycle in range(4):
        await world.feed(monitor, "eu", "dd")
        await evaluate_at(world, monitor, now + dt.timedelta(hours=2 * cycle))
        await world.feed(monitor, "eu", "u")
        await evaluate_at(world, monitor, now + dt.timedelta(hours=2 * cycle + 1))

    # Then the changes still count as flapping, by the results' own times
    assert receiver.events() == ["down", "up", "down", "flapping"]


async def test_change_events_carry_result_times(world) -> None:  # type: ignore[no-untyped-def]
    monitor = await world.monitor(["eu"])
    down_at = world.start + dt.timedelta(seconds=INTERVAL_S)
    up_at = world.start + dt.timedelta(seconds=2 * INTERVAL_S)

    await world.feed(monitor, "eu", "dd")
    await world.step(monitor)
    await world.feed(monitor, "eu", "u")
    await world.step(monitor)

    async with world.sessions() as session:
        rows = await session.execute(
            select(IncidentEvent.kind, IncidentEvent.at)
            .where(IncidentEvent.kind.in_(("opened", "closed")))
            .order_by(IncidentEvent.id)
        )
        events = [tuple(row) for row in rows]
    assert events == [("opened", down_at), ("closed", up_at)]
    (incident,) = await world.incidents(monitor)
    assert incident.closed_at == up_at
