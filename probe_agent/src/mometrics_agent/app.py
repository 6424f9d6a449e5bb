"""The agent process: scheduler or worker pool, spool, stream client and the local HTTP port."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mometrics_agent import __version__, checks, runtime
from mometrics_agent.client import FatalStreamError, StreamClient
from mometrics_agent.config import AgentSettings
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import CheckScheduler, Scheduler
from mometrics_agent.spool import AsyncSpool
from mometrics_agent.workers import WorkerPool

log = logging.getLogger("mometrics.agent")


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.spool = AsyncSpool(
            settings.agent_spool_path,
            settings.agent_spool_max_results,
            on_stored=self._on_stored,
        )
        self.lag = LoopLagMonitor()
        self.scheduler: CheckScheduler
        if settings.agent_workers > 1:
            self.scheduler = WorkerPool(self.spool.add, settings, self.lag)
        else:
            self.scheduler = Scheduler(
                self.spool.add,
                settings.agent_concurrency,
                settings.allow_private_targets,
                self.lag,
            )
        self.client = StreamClient(settings, self.scheduler, self.spool)

    def _on_stored(self) -> None:
        self.client.notify()

    async def _serve_http(self) -> web.AppRunner | None:
        if self.settings.agent_metrics_port == 0:
            return None

        async def healthz(request: web.Request) -> web.Response:
            body = {
                "status": "ok",
                "version": __version__,
                "stream_connected": self.client.connected,
                "spool_results": self.spool.size,
            }
            return web.json_response(body)

        async def metrics_page(request: web.Request) -> web.Response:
            return web.Response(
                body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/metrics", metrics_page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner, self.settings.agent_metrics_host, self.settings.agent_metrics_port
        )
        await site.start()
        return runner

    async def run(self, stop: asyncio.Event) -> int:
        log.info(
            "agent started",
            extra={
                "agent_id": self.client.agent_id,
                "region": self.settings.agent_region,
                "gateway": self.settings.gateway_address,
                "spooled": self.spool.size,
                "workers": self.settings.agent_workers,
                "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            },
        )
        self.lag.start()
        if isinstance(self.scheduler, WorkerPool):
            await self.scheduler.start()
        runner = await self._serve_http()
        client_stop = asyncio.Event()
        client = asyncio.create_task(self.client.run(client_stop))
        waiter = asyncio.create_task(stop.wait())
        exit_code = 0
        done, _ = await asyncio.wait({client, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if client in done and client.exception() is not None:
            err = client.exception()
            if isinstance(err, FatalStreamError):
                log.error("agent stopping", extra={"reason": str(err)})
                exit_code = 3
            else:
                raise err  # type: ignore[misc]
        log.info("agent stopping; finishing running checks")
        await self.scheduler.stop(self.settings.agent_shutdown_grace_s)
        # The stream client's last send takes what the spool has stored.
        await self.spool.flush()
        client_stop.set()
        if not client.done():
            try:
                await asyncio.wait_for(client, 5.0)
            except (TimeoutError, FatalStreamError):
                pass
        waiter.cancel()
        await self.lag.stop()
        if runner is not None:
            await runner.cleanup()
        await checks.close_shared_clients()
        await self.spool.close()
        log.info("agent stopped", extra={"spooled": self.spool.size})
        return exit_code


def run(settings: AgentSettings) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        agent = Agent(settings)
        if settings.agent_workers == 1:
            checks.preload("http")
        runtime.tune_gc()
        return await agent.run(stop)

    return runtime.run(main(), settings.agent_event_loop)
