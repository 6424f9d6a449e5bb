"""Loopback servers the drills control: a TCP proxy, an HTTP target, receivers.

Each server runs on its own event loop in a daemon thread, so a test that
blocks for a moment (a subprocess call, a direct database query) never
stalls the traffic that flows through the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any, Literal

from aiohttp import web

from tests.e2e.stack import free_port

LinkMode = Literal["forward", "reset", "blackhole"]


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout_s: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class TcpProxy:
    """A loopback TCP forwarder, also a round-robin balancer over several backends.

    `cut("reset")` closes every relayed connection and closes new ones at
    once, like a peer that is gone. `cut("blackhole")` keeps accepting and
    reading but forwards nothing, like a network path that silently drops
    packets. `heal()` closes whatever the cut left hanging and forwards again.
    """

    def __init__(self, thread: LoopThread, backends: list[tuple[str, int]]) -> None:
        self.thread = thread
        self.backends = backends
        self.port = free_port()
        self.mode: LinkMode = "forward"
        self.accepted = 0
        self.rejected = 0
        self._next_backend = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        self.thread.run(start())
        return self

    def stop(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            self._abort_all()

        self.thread.run(stop())

    def cut(self, mode: LinkMode) -> None:
        async def cut() -> None:
            self.mode = mode
            if mode == "reset":
                self._abort_all()

        self.thread.run(cut())

    def heal(self) -> None:
        async def heal() -> None:
            self._abort_all()
            self.mode = "forward"

        self.thread.run(heal())

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _connect_backend(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            host, port = self.backends[self._next_backend % len(self.backends)]
            self._next_backend += 1
            try:
                return await asyncio.open_connection(host, port)
            except OSError:
                continue
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "reset":
            self.rejected += 1
            writer.transport.abort()
            return
        self._writers.add(writer)
        upstream = None if self.mode == "blackhole" else await self._connect_backend()
        if upstream is None and self.mode == "forward":
            self.rejected += 1
            self._writers.discard(writer)
            writer.transport.abort()
            return
        if upstream is None:
            await self._discard(reader)
            return
        upstream_reader, upstream_writer = upstream
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )
        for side in (writer, upstream_writer):
            self._writers.discard(side)
            side.transport.abort()

    async def _discard(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode != "forward":
                    # A blackholed link: the bytes are dropped, and the
                    # connection is aborted when the link heals.
                    continue
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


class LoadTarget:
    """An HTTP server that returns 200 on /load/<key> and records each hit.

    A drill gives every monitor its own key, so the hits of a key are the
    checks the agents really ran for that monitor, with the time of each.
    """

    def __init__(self, thread: LoopThread) -> None:
        self.thread = thread
        self.port = free_port()
        self.hits: dict[str, list[int]] = defaultdict(list)
        self.is_failing = False
        self._runner: web.AppRunner | None = None

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/load/{key}"

    def start(self) -> LoadTarget:
        async def hit(request: web.Request) -> web.Response:
            self.hits[request.match_info["key"]].append(time.time_ns() // 1000)
            if self.is_failing:
                return web.Response(status=503, text="failing on purpose")
            return web.Response(text="ok")

        async def start() -> None:
            app = web.Application()
            app.router.add_get("/load/{key:.+}", hit)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self.thread.run(start())
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self.thread.run(self._runner.cleanup())
            self._runner = None


class WebhookReceiver:
    """An HTTP endpoint that stores every webhook delivery it accepts.

    While `is_failing` is set it returns 503, counts the attempt in
    `rejected` and stores nothing, so the sender has to retry.
    """

    def __init__(self, thread: LoopThread) -> None:
        self.thread = thread
        self.port = free_port()
        self.deliveries: list[dict[str, Any]] = []
        self.rejected = 0
        self.is_failing = False
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[str]:
        return [str(delivery["body"].get("event")) for delivery in self.deliveries]

    def start(self) -> WebhookReceiver:
        async def receive(request: web.Request) -> web.Response:
            if self.is_failing:
                self.rejected += 1
                return web.Response(status=503, text="failing on purpose")
            self.deliveries.append(
                {
                    "delivery_id": request.headers.get("X-Mometrics-Delivery", ""),
                    "body": await request.json(),
                    "received_at": time.time(),
                }
            )
            return web.Response(status=204)

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/hook", receive)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self.thread.run(start())
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self.thread.run(self._runner.cleanup())
            self._runner = None
