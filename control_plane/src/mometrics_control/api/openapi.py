"""The OpenAPI 3.1 document: conventions shared by every endpoint, and extra schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from mometrics_control.monitors.schemas import MonitorCreate

DESCRIPTION = """
Multi-region uptime monitoring: monitors, results, uptime, incidents and alerts.

**Authentication.** Send `Authorization: Bearer <token>` with either an access
token from `POST /auth/login` (refresh it with `POST /auth/refresh`) or an API
key (`mmk_...`, created under `/api-keys`). An API key acts for its creator in
one organisation and only within its scopes: `<area>:read` for GET requests and
`<area>:write` for the others, with areas `monitors`, `results`, `incidents`,
`channels`, `agents` and `status-page`.

**Organisations and roles.** A user acts in one organisation per request,
chosen with the `X-Organization-Id` header (default: the first one joined).
Roles: `viewer` reads; `member` also writes monitors and incidents; `admin`
also manages channels, agents, members, API keys and the status page; `owner`
also deletes the organisation and grants the owner role. An id that belongs to
another organisation answers 404, as if it did not exist.

**Lists.** Every list endpoint returns `{"items": [...], "next_cursor": ...}`
and takes `limit` (1 to 200, default 50), `cursor` (the previous page's
`next_cursor`; null means the last page) and, where offered, `sort` (a field
name, prefixed with `-` for descending). Filters are query parameters, repeated
unchanged on every page. Results are always newest first.

**Errors** are RFC 9457 problem details (`application/problem+json`) with
`status`, `title`, `detail` and, for invalid input, `errors`: a list of
`{"field", "message"}`. Writes are all or nothing.

**Caching.** Successful GET responses carry an `ETag`; send it back in
`If-None-Match` to get `304 Not Modified` when nothing changed.
""".strip()


class MonitorDocument(BaseModel):
    """Monitors as code, as exported by GET /monitors/export and read by POST /monitors/import."""

    monitors: list[MonitorCreate]


def _add_schema(document: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas[model.__name__] = schema


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=DESCRIPTION,
            routes=app.routes,
        )
        _add_schema(document, MonitorDocument)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
