"""The incident list: filters and keyset pages, newest first by default."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Literal

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mometrics_control.api.pagination import paginate, parse_sort, split_page
from mometrics_control.errors import InvalidInput
from mometrics_control.models import Incident

SORTS = {"opened_at": Incident.opened_at}
DEFAULT_SORT = "-opened_at"

IncidentStatus = Literal["open", "resolved"]


@dataclasses.dataclass(frozen=True)
class IncidentFilters:
    """Query filters of the incident list; None leaves a filter off."""

    monitor_id: uuid.UUID | None = None
    status: IncidentStatus | None = None
    # Incidents that overlap [since, until): opened before `until` and not
    # closed before `since`.
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    is_acknowledged: bool | None = None

    def check(self) -> None:
        """Raise InvalidInput naming the field unless the time range is usable."""
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput.for_field(
                    name, "needs a time zone offset, such as 2026-12-05T00:00:00Z"
                )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidInput.for_field("since", "must be before until")

    def apply(self, query: Select[Incident]) -> Select[Incident]:
        if self.monitor_id is not None:
            query = query.where(Incident.monitor_id == self.monitor_id)
        if self.status == "open":
            query = query.where(Incident.closed_at.is_(None))
        elif self.status == "resolved":
            query = query.where(Incident.closed_at.is_not(None))
        if self.since is not None:
            query = query.where(or_(Incident.closed_at.is_(None), Incident.closed_at >= self.since))
        if self.until is not None:
            query = query.where(Incident.opened_at < self.until)
        if self.is_acknowledged is not None:
            query = query.where(
                Incident.acknowledged_at.is_not(None)
                if self.is_acknowledged
                else Incident.acknowledged_at.is_(None)
            )
        return query


async def list_page(
    session: AsyncSession,
    organization_id: uuid.UUID,
    filters: IncidentFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Incident], str | None]:
    """Return one page of the organisation's incidents and the next page's cursor."""
    filters.check()
    sorting = parse_sort(sort, SORTS)
    query = filters.apply(select(Incident).where(Incident.organization_id == organization_id))
    rows = list(await session.scalars(paginate(query, sorting, Incident.id, cursor, limit)))
    return split_page(rows, sorting, limit)
