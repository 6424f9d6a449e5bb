"""Tables of alerting: transitions, incident timelines, maintenance, outbox."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from mometrics_control.models import Base


class RegionTransition(Base):
    """A change of one region's verdict, written in the ingest transaction."""

    __tablename__ = "region_transitions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    monitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(16))
    current: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class MonitorAlertState(Base):
    """Flapping state of a monitor as a whole."""

    __tablename__ = "monitor_alert_states"

    monitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    is_flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    flapping_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IncidentEvent(Base):
    """A timeline entry of an incident that is not a region transition."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # opened, closed, acknowledged, update, notified, reminder, escalated.
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MaintenanceWindow(Base):
    """A one-off or recurring period when alerts are not sent."""

    __tablename__ = "maintenance_windows"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    # Empty means every monitor of the organisation.
    monitor_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    # IANA time zone name; occurrences follow its wall clock across DST.
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at_local: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    duration_s: Mapped[int] = mapped_column(Integer)
    # none, daily, weekly or monthly.
    recurrence: Mapped[str] = mapped_column(String(16))
    until_local: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class OutboxEntry(Base):
    """One notification for one channel, written with the change it reports."""

    __tablename__ = "notification_outbox"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Unique per transition and channel, so a repeated evaluation adds nothing.
    delivery_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # A worker holds the entry until then; past it another worker may retry.
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The claim that holds or last held that lease.
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dropped_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
