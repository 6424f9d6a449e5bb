from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from mometrics_control.api import etag
from mometrics_control.api.deps import CallerDep, RedisDep, SessionDep, SettingsDep
from mometrics_control.monitors import service as monitors
from mometrics_control.results import overview as overview_service
from mometrics_control.results import service
from mometrics_control.results.schemas import OverviewPage, ResultPage, UptimeRead

router = APIRouter(tags=["results"])


def liveness_s(settings: SettingsDep) -> float:
    return float(settings.heartbeat_interval_s * settings.liveness_heartbeats)


@router.get("/monitors/{monitor_id}/uptime")
async def get_uptime(
    monitor_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    window: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> UptimeRead:
    """Uptime (a fraction 0..1, time-weighted) and latency per region and overall."""
    monitor = await monitors.get_owned(session, caller.organization_id, monitor_id)
    name, start, end = service.parse_window(window, since, until)
    return await service.uptime_for(session, redis, monitor, name, start, end, liveness_s(settings))


@router.get("/monitors/{monitor_id}/results")
async def list_results(
    monitor_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    region: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> ResultPage:
    """Raw results, newest first; pass next_cursor as cursor for the next page."""
    await monitors.get_owned(session, caller.organization_id, monitor_id)
    return await service.list_results(
        session, monitor_id, region, status, since, until, limit, cursor
    )


class LatencyPoint(BaseModel):
    t: dt.datetime
    region: str
    p50: float | None
    p95: float | None
    min: float | None
    max: float | None
    count: int


class LatencySeries(BaseModel):
    bucket_seconds: int
    points: list[LatencyPoint]


@router.get("/monitors/{monitor_id}/latency")
async def latency_series(
    monitor_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    window: str | None = None,
    region: str | None = None,
) -> LatencySeries:
    """Latency of successful checks per region in time buckets."""
    await monitors.get_owned(session, caller.organization_id, monitor_id)
    _, since, until = service.parse_window(window, None, None)
    bucket_s = max(60, int((until - since).total_seconds() // 300))
    rows = await session.execute(
        text(
            """
            SELECT to_timestamp(floor(extract(epoch FROM scheduled_at) / :bucket) * :bucket)
                       AS t,
                   region,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
                   min(latency_ms) AS min, max(latency_ms) AS max, count(*) AS count
            FROM check_results
            WHERE monitor_id = :monitor_id AND status = 1
              AND scheduled_at >= :since AND scheduled_at < :until
              AND (CAST(:region AS text) IS NULL OR region = :region)
            GROUP BY 1, 2 ORDER BY 1, 2
            """
        ),
        {
            "monitor_id": monitor_id,
            "bucket": bucket_s,
            "since": since,
            "until": until,
            "region": region,
        },
    )
    return LatencySeries(
        bucket_seconds=bucket_s,
        points=[
            LatencyPoint(
                t=row._mapping["t"],
                region=row.region,
                p50=round(row.p50, 3),
                p95=round(row.p95, 3),
                min=round(row.min, 3),
                max=round(row.max, 3),
                count=row._mapping["count"],
            )
            for row in rows
        ],
    )


@router.get("/overview", response_model=OverviewPage)
async def overview(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> Response:
    """Every monitor with its state per region and uptime; supports If-None-Match.

    Uptime windows end at the start of the current minute (`until`), so the
    body and its ETag change only when a minute passes or a result arrives.
    """
    page = await overview_service.build_overview(
        session,
        request.app.state.sessionmaker,
        redis,
        caller.organization_id,
        liveness_s(settings),
    )
    body = page.model_dump_json().encode()
    tag = etag.etag_of(body)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if etag.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
