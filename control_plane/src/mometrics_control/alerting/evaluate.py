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

Flapping is judged on the results' own clock. A monitor-level change is
dated by the scheduled time of the result that caused it, and more than
`flap_threshold` changes within `flap_window_s` of that time make the
monitor flapping. So a backlog of spooled results replayed at once (an
agent that reconnects) is judged by when the checks ran, and a late
evaluation cannot spread fast changes apart. Flapping settles once the
monitor's results cover a whole window with no change.
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
        self._alert_state: MonitorAlertState | None = None

    def event(
        self, incident: Incident, kind: str, message: str = "", at: dt.datetime | None = None
    ) -> None:
        self.session.add(
            IncidentEvent(incident_id=incident.id, at=at or self.now, kind=kind, message=message)
        )

    def regions(self, *statuses: str) -> list[RegionState]:
        """Return the monitor's region states with one of `statuses`, oldest change first."""
        found = [
            s for s in self.states if s.status in statuses and s.region in self.monitor.regions
        ]
        return sorted(found, key=lambda s: s.changed_at)

    def observed_until(self) -> dt.datetime | None:
        """Return the scheduled time of the monitor's latest result in any region."""
        times = [s.last_scheduled_at for s in self.states if s.region in self.monitor.regions]
        return max(times, default=None)

    def change_time(self, event: str, state: MonitorAlertState) -> dt.datetime:
        """Return when the monitor went down or up, by its results' scheduled times.

        Down: when the quorum-th region went down. Up: when enough regions
        were up that a quorum could no longer be down. A region's
        `changed_at` is the scheduled time of the result that changed it.
        The time never goes back before the previous change or past now.
        """
        quorum = effective_quorum(self.monitor.quorum, len(self.monitor.regions))
        at = self.now
        if event == "down":
            down = self.regions("down")
            if len(down) >= quorum:
                at = down[quorum - 1].changed_at
        elif not self.monitor.paused:
            up = self.regions("up", "degraded")
            needed = len(self.monitor.regions) - quorum + 1
            if needed >= 1 and len(up) >= needed:
                at = up[needed - 1].changed_at
        if state.last_change_at is not None:
            at = max(at, state.last_change_at)
        return min(at, self.now)

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
        """Return the monitor's flapping state, locked, created on first use."""
        if self._alert_state is not None:
            return self._alert_state
        state = await self.session.get(MonitorAlertState, self.monitor.id, with_for_update=True)
        if state is None:
            state = MonitorAlertState(monitor_id=self.monitor.id, is_flapping=False)
            self.session.add(state)
        self._alert_state = state
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

    async def count_changes(self, at: dt.datetime) -> int:
        """Count the monitor's up/down changes dated within the flap window ending at `at`."""
        since = at - dt.timedelta(seconds=self.rules.flap_window_s)
        count = await self.session.scalar(
            select(func.count())
            .select_from(IncidentEvent)
            .join(Incident, Incident.id == IncidentEvent.incident_id)
            .where(
                Incident.monitor_id == self.monitor.id,
                IncidentEvent.kind.in_(("opened", "closed")),
                IncidentEvent.at > since,
                IncidentEvent.at <= at,
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
        at = ev.change_time("down", await ev.alert_state())
        incident = await _open(ev, at)
        await _on_change(ev, incident, "down", at)
    elif incident is not None and not is_down and has_recovered(monitor, ev.states):
        at = max(ev.change_time("up", await ev.alert_state()), incident.opened_at)
        incident.closed_at = at
        ev.event(incident, "closed", "recovered", at)
        log.info(
            "incident closed",
            extra={"monitor_id": str(monitor.id), "incident_id": str(incident.id)},
        )
        await _on_change(ev, incident, "up", at)
        incident = None

    await _settle_flapping(ev, incident)
    if incident is not None:
        await _release_suppressed(ev, incident)
        await _remind_and_escalate(ev, incident)
    return ev.outbox_ids


async def _open(ev: _Evaluation, at: dt.datetime) -> Incident:
    """Open an incident dated from the first region that went down.

    It never starts before the monitor's previous incident closed, so two
    incidents of one monitor never overlap.
    """
    down = ev.regions("down")
    cause = "; ".join(f"{s.region}: {s.last_error or 'down'}" for s in down)
    opened_at = min(down[0].changed_at, at)
    previous_close = await ev.session.scalar(
        select(func.max(Incident.closed_at)).where(Incident.monitor_id == ev.monitor.id)
    )
    if previous_close is not None:
        opened_at = max(opened_at, previous_close)
    incident = Incident(
        id=uuid.uuid4(),
        organization_id=ev.monitor.organization_id,
        monitor_id=ev.monitor.id,
        opened_at=opened_at,
        cause=cause[:2000],
        reminder_count=0,
    )
    ev.session.add(incident)
    await ev.session.flush()
    ev.event(incident, "opened", cause[:2000], at)
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
    log.info(
        "incident opened",
        extra={
            "monitor_id": str(ev.monitor.id),
            "incident_id": str(incident.id),
            "regions": len(down),
        },
    )
    return incident


async def _on_change(ev: _Evaluation, incident: Incident, event: str, at: dt.datetime) -> None:
    """Record a monitor-level change dated `at` and send its notice unless suppressed."""
    state = await ev.alert_state()
    state.last_change_at = at
    await ev.session.flush()
    if await ev.count_changes(at) > ev.rules.flap_threshold or state.is_flapping:
        if event == "down":
            incident.suppressed_reason = "flapping"
            ev.event(incident, "suppressed", "flapping")
        if not state.is_flapping:
            state.is_flapping = True
            state.flapping_since = at
            key = f"{ev.monitor.id}:flapping:{at.isoformat()}"
            await ev.notify("flapping", key, incident)
            log.warning(
                "monitor flapping",
                extra={"monitor_id": str(ev.monitor.id), "since": at.isoformat()},
            )
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
    """End flapping once the results cover a whole flap window with no change.

    A paused monitor has no new results, so it stops flapping silently once
    the window has passed on the wall clock.
    """
    state = await ev.session.get(MonitorAlertState, ev.monitor.id, with_for_update=True)
    if state is None or not state.is_flapping or state.last_change_at is None:
        return
    # NOTE: while no results arrive (every agent of its regions gone) a
    # flapping monitor stays flapping, because nothing shows it settled.
    clock = ev.now if ev.monitor.paused else ev.observed_until()
    if clock is None or clock - state.last_change_at < dt.timedelta(seconds=ev.rules.flap_window_s):
        return
    since = state.flapping_since or state.last_change_at
    state.is_flapping = False
    state.flapping_since = None
    if ev.monitor.paused:
        log.info("paused monitor stopped flapping", extra={"monitor_id": str(ev.monitor.id)})
        return
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
