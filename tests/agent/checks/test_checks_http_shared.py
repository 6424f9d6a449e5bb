"""HTTP checks share one aiohttp session per event loop, and nothing else.

Cookies, connections, timings and certificates stay with their own check.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from mometrics_agent import checks
from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import ErrorClass

pytestmark = pytest.mark.asyncio


def app_with(routes: dict[str, object]) -> web.Application:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)  # type: ignore[arg-type]
    return app


async def test_cookies_stay_with_their_check(serve_app, make_spec, sane):
    cookies_seen: list[dict[str, str]] = []

    async def gate(request: web.Request) -> web.Response:
        cookies_seen.append(dict(request.cookies))
        if request.cookies.get("session") == "yes":
            return web.Response(text="welcome")
        response = web.HTTPFound("/gate")
        response.set_cookie("session", "yes")
        raise response

    base = await serve_app(app_with({"/gate": gate}))
    first = await run_check(make_spec("http", base + "/gate", keyword="welcome"))
    second = await run_check(make_spec("http", base + "/gate", keyword="welcome"))

    sane(first)
    sane(second)
    assert first.is_up, first
    assert second.is_up, second
    # Each check starts without cookies and gets the cookie on its redirect.
    assert cookies_seen == [{}, {"session": "yes"}, {}, {"session": "yes"}]


async def test_cookie_header_option_merges_with_set_cookie(serve_app, make_spec, sane):
    async def start(request: web.Request) -> web.Response:
        response = web.HTTPFound("/end")
        response.set_cookie("b", "2")
        raise response

    async def end(request: web.Request) -> web.Response:
        return web.json_response(dict(request.cookies))

    base = await serve_app(app_with({"/start": start, "/end": end}))
    outcome = await run_check(
        make_spec(
            "http",
            base + "/start",
            headers={"Cookie": "a=1"},
            json_assertions=[{"path": "$.a", "value": "1"}, {"path": "$.b", "value": "2"}],
        )
    )

    sane(outcome)
    assert outcome.is_up, outcome


async def test_redirect_hops_use_new_connections(serve_app, make_spec, sane):
    peers: list[object] = []

    async def hop(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        raise web.HTTPFound("/end")

    async def end(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return web.Response(text="done")

    base = await serve_app(app_with({"/hop": hop, "/end": end}))
    outcome = await run_check(make_spec("http", base + "/hop"))

    sane(outcome)
    assert outcome.is_up, outcome
    assert len(peers) == 2
    assert peers[0] != peers[1]


async def test_concurrent_checks_keep_own_timings(serve_app, server_tls, ca_pem, make_spec, sane):
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text="slow ok")

    async def fast(request: web.Request) -> web.Response:
        return web.Response(text="fast ok")

    tls_base = await serve_app(app_with({"/": slow}), ssl_context=server_tls("good"))
    plain_base = await serve_app(app_with({"/": fast}))
    tls_spec = make_spec("http", tls_base + "/", ca_pem=ca_pem, keyword="slow ok")
    plain_spec = make_spec("http", plain_base + "/", keyword="fast ok")
    failing_spec = make_spec("http", plain_base + "/", keyword="absent")

    # When checks of three kinds run interleaved on the shared session
    outcomes = await asyncio.gather(
        *(run_check(spec) for _ in range(5) for spec in (tls_spec, plain_spec, failing_spec))
    )

    # Then each has the timings, certificate and verdict of its own target
    for tls, plain, failing in zip(outcomes[0::3], outcomes[1::3], outcomes[2::3], strict=True):
        for outcome in (tls, plain, failing):
            sane(outcome)
        assert tls.is_up, tls
        assert tls.phases.tls_ms > 0
        assert tls.phases.first_byte_ms >= 290
        assert tls.cert_expires_at is not None
        assert plain.is_up, plain
        assert plain.phases.tls_ms == 0
        assert plain.cert_expires_at is None
        assert not failing.is_up
        assert failing.error_class == ErrorClass.ASSERTION


async def test_session_reopens_after_close(serve_app, make_spec, sane):
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    base = await serve_app(app_with({"/": ok}))
    before = await run_check(make_spec("http", base + "/"))
    await checks.close_shared_clients()

    after = await run_check(make_spec("http", base + "/"))

    sane(after)
    assert before.is_up, before
    assert after.is_up, after
