"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mometrics_control.errors import MometricsError, RateLimited

log = logging.getLogger("mometrics.api")

PROBLEM_TYPE = "https://mometrics.dev/problems/"


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    body: dict[str, object] = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _field_path(location: tuple[object, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(MometricsError)
    async def _mometrics_error(request: Request, err: MometricsError) -> JSONResponse:
        if err.status >= 500:
            log.error("request failed", exc_info=err, extra={"path": request.url.path})
        response = problem(
            err.status,
            err.title,
            err.detail,
            [{"field": e.field, "message": e.message} for e in err.errors],
        )
        if isinstance(err, RateLimited):
            response.headers["Retry-After"] = str(err.retry_after_s)
        if err.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_path(tuple(error.get("loc", ()))),
                "message": str(error.get("msg", "invalid")).removeprefix("Value error, "),
            }
            for error in err.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not authenticated"}
        title = titles.get(err.status_code, "HTTP error")
        return problem(err.status_code, title, str(err.detail))

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, err: DBAPIError) -> JSONResponse:
        # PostgreSQL rejects NUL characters and some invalid byte sequences in
        # text (SQLSTATE 22021); that is bad input, not a server fault.
        if getattr(err.orig, "sqlstate", None) == "22021":
            return problem(422, "Invalid input", "text must not contain NUL (\\u0000) characters")
        log.error("database error", exc_info=err, extra={"path": request.url.path})
        return problem(500, "Internal error", "unexpected error; see the server log")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=err, extra={"path": request.url.path})
        return problem(500, "Internal error", "unexpected error; see the server log")
