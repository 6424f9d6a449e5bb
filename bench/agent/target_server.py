"""Local HTTP target of the agent benchmark.

`/ok` returns 200 at once and `/delay?ms=N` returns 200 after N
milliseconds. Run it as its own process so its CPU time is not counted against the prober:

    python bench/agent/target_server.py PORT
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def delay(request: web.Request) -> web.Response:
    await asyncio.sleep(int(request.query.get("ms", "0")) / 1000)
    return web.Response(text="ok")


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/delay", delay)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
