"""State of push (heartbeat) monitors, kept in PostgreSQL so restarts keep the timer."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from mometrics_control.models import Base


class PushMonitor(Base):
    __tablename__ = "push_monitors"

    monitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    # SHA-256 of the token in the push URL; the URL is shown when it is issued.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_ping_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Time of the latest stored result, a ping or a missed-ping verdict; the
    # next missed-ping verdict is due one interval (plus grace) after it.
    last_result_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
