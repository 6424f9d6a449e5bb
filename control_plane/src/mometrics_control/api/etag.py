"""Strong ETags on successful GET responses, and 304 for a matching If-None-Match.

The dashboard polls monitor details, uptime and the overview; a 304 saves
sending the body again. The tag is a hash of the body, so the server still
does the work of building it. Responses that set their own ETag keep it.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_TAGGED_TYPES = ("application/json", "image/svg+xml")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Return whether an If-None-Match value matches, comparing weakly as RFC 9110 asks."""
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


class ETagMiddleware:
    def __init__(self, app: ASGIApp, path_prefix: str) -> None:
        self.app = app
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(start, b"".join(chunks), if_none_match, send)

        await self.app(scope, receive, buffer)

    @staticmethod
    async def _finish(start: Message, body: bytes, if_none_match: str | None, send: Send) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        content_type = headers.get("content-type", "")
        if start["status"] != 200 or not content_type.startswith(_TAGGED_TYPES):
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = headers.get("etag") or etag_of(body)
        headers["ETag"] = etag
        if "cache-control" not in headers:
            # Revalidate every time; shared caches must not keep one caller's data.
            headers["Cache-Control"] = "private, no-cache"
        if matches(if_none_match, etag):
            del headers["content-type"]
            del headers["content-length"]
            await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
