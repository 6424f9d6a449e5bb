"""Monitor-level evaluation: incidents, suppression, flapping and reminders.

`evaluate_monitor` runs in one transaction with the monitor row locked, so
evaluations of one monitor never interleave. Every notification it decides
on is an outbox row written in that transaction; the caller enqueues
delivery after the commit.

Who gets paged for a down monitor:
- nobody while the parent monitor is down (the incident links to the
  parent's incident), inside a maintenance window, or while flapping;
- everyone subscribed once that reason is gone and the monitor is still
  down, so a suppressed outage is never lost;
- a recovery notice goes exactly to incidents whose outage was sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.alerting import maintenance
from mometrics_control.alerting.models import IncidentEvent, MonitorAlertState
from mometrics_control.alerting.settings import AlertSettings, load_settings
from mometrics_control.models import Channel, Incident, Monitor, MonitorChannel, RegionState
from mometrics_control.notifications import outbox
from mometrics_control.notifications.messages import build_payload
from mometrics_control.results.uptime import effective_quorum

log = logging.getLogger("mometrics.alerting")


def is_monitor_down(monitor: Monitor, states: list[RegionState]) -> bool:
    """Return True when a quorum of the monitor's regions is down."""
    down = sum(1 for s in states if s.status == "down" and s.region in monitor.regions)
    return not monitor.paused and down >= effective_quorum(monitor.quorum, len(monitor.regions))


def has_recovered(monitor: Monitor, states: list[RegionState]) -> bool:
    """Return True when enough regions are up that a quorum can no longer be down.

    Regions without data or with unknown results are no evidence of
    recovery, so an incident stays open while they hide the outcome.
    """
    if monitor.paused:
        return True
    up = sum(1 for s in states if s.status in ("up", "degraded") and s.region in monitor.regions)
    quorum = effective_quorum(monitor.quorum, len(monitor.regions))
    return up >= len(monitor.regions) - quorum + 1


async def _states(session: AsyncSession, monitor_id: uuid.UUID) -> list[RegionState]:
    return list(
        await session.scalars(select(RegionState).where(RegionState.monitor_id == monitor_id))
    )


async def _open_incident(session: AsyncSession, monitor_id: uuid.UUID) -> Incident | None:
    return await session.scalar(
        select(Incident).where(Incident.monitor_id == monitor_id, Incident.closed_at.is_(None))
    )


class _Evaluation:
    def __init__(self, session: AsyncSession, monitor: Monitor, now: dt.datetime) -> None:
        self.session = session
        self.monitor = monitor
        self.rules: AlertSettings = load_settings(monitor.alert_settings)
        self.now = now
        self.outbox_ids: list[uuid.UUID] = []
        self.states: list[RegionState] = []

    def event(self, incident: Incident, kind: str, message: str = "") -> None:
        self.session.add(
            IncidentEvent(incident_id=incident.id, at=self.now, kind=kind, message=message)
        )

    async def notify(
        self,
        event: str,
        key: str,
        incident: Incident | None,
        channel_ids: list[uuid.UUID] | None = None,
        status: str = "",
    ) -> int:
        if channel_ids is None:
            channel_ids = list(
                await self.session.scalars(
                    select(MonitorChannel.channel_id).where(
                        MonitorChannel.monitor_id == self.monitor.id
                    )
                )
            )
        payload = build_payload(event, self.monitor, incident, self.states, self.now, status)
        ids = await outbox.add(
            self.session,
            channel_ids,
            key,
            event,
            payload,
            incident.id if incident else None,
            self.now,
        )
        self.outbox_ids += ids
        return len(ids)

    async def alert_state(self) -> MonitorAlertState:
        state = await self.session.get(MonitorAlertState, self.monitor.id, with_for_update=True)
        if state is None:
            state = MonitorAlertState(monitor_id=self.monitor.id, is_flapping=False)
            self.session.add(state)
        return state

    async def suppression(self) -> tuple[str | None, uuid.UUID | None]:
        """Return why a down notice must wait now, and the parent's incident."""
        parent_id = self.monitor.parent_id
        if parent_id is not None:
            parent = await self.session.get(Monitor, parent_id)
            if parent is not None and is_monitor_down(
                parent, await _states(self.session, parent_id)
            ):
                parent_incident = await _open_incident(self.session, parent_id)
                return "parent", parent_incident.id if parent_incident else None
        if await maintenance.is_in_maintenance(self.session, self.monitor.id, self.now):
            return "maintenance", None
        return None, None

    async def count_changes(self) -> int:
        """Count the monitor's up/down changes evaluated within the flap window."""
        since = self.now - dt.timedelta(seconds=self.rules.flap_window_s)
        count = await self.session.scalar(
            select(func.count())
            .select_from(IncidentEvent)
            .join(Incident, Incident.id == IncidentEvent.incident_id)
            .where(
                Incident.monitor_id == self.monitor.id,
                IncidentEvent.kind.in_(("opened", "closed")),
                IncidentEvent.at >= since,
            )
        )
        return int(count or 0)


async def evaluate_monitor(
    session: AsyncSession, monitor_id: uuid.UUID, now: dt.datetime
) -> list[uuid.UUID]:
    """Bring the monitor's incident in line with its region states.

    Returns the ids of new outbox rows; the caller commits, then enqueues them.
    """
    monitor = await session.get(Monitor, monitor_id, with_for_update=True)
    if monitor is None:
        return []
    ev = _Evaluation(session, monitor, now)
    ev.states = await _states(session, monitor.id)
    is_down = is_monitor_down(monitor, ev.states)
    incident = await _open_incident(session, monitor.id)

    if is_down and incident is None:
        incident = await _open(ev)
        await _on_change(ev, incident, "down")
    elif incident is not None and not is_down and has_recovered(monitor, ev.states):
        incident.closed_at = now
        ev.event(incident, "closed", "recovered")
        log.info("incident closed", extra={"monitor_id": str(monitor.id)})
        await _on_change(ev, incident, "up")
        incident = None

    await _settle_flapping(ev, incident)
    if incident is not None:
        await _release_suppressed(ev, incident)
        await _remind_and_escalate(ev, incident)
    return ev.outbox_ids


async def _open(ev: _Evaluation) -> Incident:
    down = [s for s in ev.states if s.status == "down" and s.region in ev.monitor.regions]
    cause = "; ".join(f"{s.region}: {s.last_error or 'down'}" for s in down)
    incident = Incident(
        id=uuid.uuid4(),
        organization_id=ev.monitor.organization_id,
        monitor_id=ev.monitor.id,
        opened_at=min(s.changed_at for s in down),
        cause=cause[:2000],
        reminder_count=0,
    )
    ev.session.add(incident)
    await ev.session.flush()
    ev.event(incident, "opened", cause[:2000])
    # Children that went down first wait for this incident: link them to it.
    await ev.session.execute(
        update(Incident)
        .where(
            Incident.closed_at.is_(None),
            Incident.suppressed_reason == "parent",
            Incident.parent_incident_id.is_(None),
            Incident.monitor_id.in_(select(Monitor.id).where(Monitor.parent_id == ev.monitor.id)),
        )
        .values(parent_incident_id=incident.id)
    )
    log.info("incident opened", extra={"monitor_id": str(ev.monitor.id), "regions": len(down)})
    return incident


async def _on_change(ev: _Evaluation, incident: Incident, event: str) -> None:
    """Record a monitor-level change and send its notice unless suppressed."""
    state = await ev.alert_state()
    state.last_change_at = ev.now
    await ev.session.flush()
    if await ev.count_changes() > ev.rules.flap_threshold or state.is_flapping:
        if event == "down":
            incident.suppressed_reason = "flapping"
            ev.event(incident, "suppressed", "flapping")
        if not state.is_flapping:
            state.is_flapping = True
            state.flapping_since = ev.now
            key = f"{ev.monitor.id}:flapping:{ev.now.isoformat()}"
            await ev.notify("flapping", key, incident)
            log.warning("monitor flapping", extra={"monitor_id": str(ev.monitor.id)})
        return

    if event == "up":
        if incident.notified_at is not None:
            await ev.notify("up", f"{incident.id}:up", incident)
        return

    reason, parent_incident_id = await ev.suppression()
    if reason is not None:
        incident.suppressed_reason = reason
        incident.parent_incident_id = parent_incident_id
        ev.event(incident, "suppressed", reason)
        return
    await _send_down(ev, incident)


async def _send_down(ev: _Evaluation, incident: Incident) -> None:
    incident.suppressed_reason = None
    incident.notified_at = ev.now
    sent = await ev.notify("down", f"{incident.id}:down", incident)
    ev.event(incident, "notified", f"sent to {sent} channels")


async def _release_suppressed(ev: _Evaluation, incident: Incident) -> None:
    if incident.suppressed_reason not in ("parent", "maintenance"):
        return
    reason, _ = await ev.suppression()
    if reason is None:
        await _send_down(ev, incident)


async def _settle_flapping(ev: _Evaluation, incident: Incident | None) -> None:
    state = await ev.session.get(MonitorAlertState, ev.monitor.id, with_for_update=True)
    if state is None or not state.is_flapping or state.last_change_at is None:
        return
    if ev.now - state.last_change_at < dt.timedelta(seconds=ev.rules.flap_window_s):
        return
    since = state.flapping_since or state.last_change_at
    state.is_flapping = False
    state.flapping_since = None
    status = "down" if incident is not None else "up"
    await ev.notify(
        "flapping_settled", f"{ev.monitor.id}:settled:{since.isoformat()}", incident, status=status
    )
    if incident is not None:
        # The settled notice reported the outage, so its recovery is sent too.
        incident.suppressed_reason = None
        incident.notified_at = ev.now
    log.info("monitor stopped flapping", extra={"monitor_id": str(ev.monitor.id)})


async def _remind_and_escalate(ev: _Evaluation, incident: Incident) -> None:
    if incident.notified_at is None or incident.acknowledged_at is not None:
        return
    interval_s = ev.rules.reminder_interval_s
    last = incident.last_reminder_at or incident.notified_at
    if interval_s is not None and ev.now - last >= dt.timedelta(seconds=interval_s):
        incident.reminder_count += 1
        incident.last_reminder_at = ev.now
        await ev.notify("reminder", f"{incident.id}:reminder:{incident.reminder_count}", incident)
        ev.event(incident, "reminder", f"reminder {incident.reminder_count}")

    channel_id = ev.rules.escalation_channel_id
    delay = dt.timedelta(seconds=ev.rules.escalation_delay_s)
    if channel_id is None or incident.escalated_at is not None:
        return
    if ev.now - incident.notified_at < delay:
        return
    channel = await ev.session.scalar(
        select(Channel.id).where(
            Channel.id == channel_id, Channel.organization_id == ev.monitor.organization_id
        )
    )
    incident.escalated_at = ev.now
    if channel is None:
        log.warning("escalation channel not found", extra={"channel_id": str(channel_id)})
        return
    await ev.notify("escalation", f"{incident.id}:escalation", incident, [channel])
    ev.event(incident, "escalated", f"escalated to channel {channel}")


async def monitors_to_sweep(session: AsyncSession) -> list[uuid.UUID]:
    """Return monitors whose alerting may need time-driven work."""
    rows = await session.scalars(
        select(Monitor.id).where(
            or_(
                Monitor.id.in_(select(Incident.monitor_id).where(Incident.closed_at.is_(None))),
                Monitor.id.in_(select(RegionState.monitor_id).where(RegionState.status == "down")),
                Monitor.id.in_(
                    select(MonitorAlertState.monitor_id).where(MonitorAlertState.is_flapping)
                ),
            )
        )
    )
    return list(rows)
