"""Cursor pagination and sorting shared by every list endpoint.

A list takes `limit` (default 50, 1 to 200), `sort` (a field name, `-` in
front for descending) and `cursor`, and returns `items` with `next_cursor`,
which is null on the last page. The cursor is opaque to clients: it encodes
the sort and the last item's sort value and id, so pages stay stable while
rows are inserted (keyset pagination, no OFFSET). Filters are plain query
parameters that every page of one listing repeats unchanged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from mometrics_control.errors import InvalidInput

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select[Any])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 200).")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=500, description="The next_cursor of the previous page; omit for the first."),
]


@dataclasses.dataclass(frozen=True)
class Sorting:
    """A validated sort: the column, its name and the direction."""

    name: str
    column: InstrumentedAttribute[Any]
    is_descending: bool


def parse_sort(sort: str, columns: Mapping[str, InstrumentedAttribute[Any]]) -> Sorting:
    name = sort.removeprefix("-")
    if name not in columns:
        allowed = ", ".join(sorted(columns))
        raise InvalidInput.for_field(
            "sort", f"must be one of {allowed}, optionally with a - prefix"
        )
    return Sorting(name, columns[name], sort.startswith("-"))


def _encode_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(sorting: Sorting, value: object, item_id: uuid.UUID) -> str:
    raw = json.dumps([sorting.name, _encode_value(value), str(item_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sorting: Sorting) -> tuple[object, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, item_id = json.loads(raw)
        if name != sorting.name:
            raise InvalidInput.for_field("cursor", "the cursor belongs to another sort order")
        python_type = sorting.column.type.python_type
        if python_type is dt.datetime:
            value = dt.datetime.fromisoformat(value)
        elif not isinstance(value, python_type):
            raise TypeError(value)
        return value, uuid.UUID(item_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as err:
        raise InvalidInput.for_field("cursor", "invalid cursor; start again without one") from err


def paginate(
    query: SelectT,
    sorting: Sorting,
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> SelectT:
    """Add the keyset condition, the order and limit + 1 rows to a query."""
    if cursor:
        value, last_id = _decode_cursor(cursor, sorting)
        keys = tuple_(sorting.column, id_column)
        bound = tuple_(literal(value, sorting.column.type), literal(last_id, id_column.type))
        query = query.where(keys < bound if sorting.is_descending else keys > bound)
    if sorting.is_descending:
        query = query.order_by(sorting.column.desc(), id_column.desc())
    else:
        query = query.order_by(sorting.column, id_column)
    return query.limit(limit + 1)


def split_page(rows: Sequence[T], sorting: Sorting, limit: int) -> tuple[list[T], str | None]:
    """Return the page's rows and the cursor of the next page, if there is one."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return items, None
    last: Any = items[-1]
    value = getattr(last, sorting.column.key)
    return items, encode_cursor(sorting, value, last.id)
