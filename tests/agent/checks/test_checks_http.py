"""HTTP check against local aiohttp and raw servers."""

from __future__ import annotations

import asyncio
import gzip
import json

import brotli
import pytest
from aiohttp import web

from mometrics_agent.checks import netpolicy, run_check
from mometrics_agent.checks.base import ErrorClass

pytestmark = pytest.mark.asyncio


def text_app(routes: dict[str, object]) -> web.Application:
    """An app whose handlers are given as path -> handler."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)  # type: ignore[arg-type]
    return app


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="all systems ok")


# --- basics and timings ----------------------------------------------------------


async def test_plain_get_is_up_with_phases(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(make_spec("http", base + "/"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.status_code == 200
    assert outcome.message == ""
    p = outcome.phases
    assert p.dns_ms == 0  # IP literal: no lookup
    assert p.tls_ms == 0
    assert p.connect_ms > 0
    assert p.first_byte_ms > 0
    # Zero when the whole response arrives in one read.
    assert p.transfer_ms >= 0
    assert outcome.cert_expires_at is None


async def test_transfer_runs_to_last_byte(raw_server, make_spec, sane):
    async def late_body(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b"done")
        await writer.drain()

    port = await raw_server(late_body)
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{port}/", keyword="done"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.transfer_ms >= 190
    assert outcome.latency_ms >= outcome.phases.transfer_ms


async def test_host_name_times_dns(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(make_spec("http", base.replace("127.0.0.1", "localhost") + "/"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.dns_ms > 0
    assert outcome.phases.connect_ms > 0


async def test_first_byte_reflects_server_think_time(serve_app, make_spec, sane):
    async def slow_headers(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text="late")

    base = await serve_app(text_app({"/": slow_headers}))
    outcome = await run_check(make_spec("http", base + "/"))
    sane(outcome)
    assert outcome.is_up
    assert outcome.phases.first_byte_ms >= 290
    assert outcome.phases.connect_ms < 250
    assert outcome.latency_ms >= 300


async def test_fresh_connection_for_every_check(serve_app, make_spec):
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return web.Response(text="ok")

    base = await serve_app(text_app({"/": handler}))
    first = await run_check(make_spec("http", base + "/"))
    second = await run_check(make_spec("http", base + "/"))
    assert first.is_up and second.is_up
    assert first.phases.connect_ms > 0 and second.phases.connect_ms > 0
    assert peers[0] != peers[1]


async def test_ipv6_loopback(serve_app, make_spec, sane, ipv6_loopback):
    base = await serve_app(text_app({"/": ok}), host="::1")
    assert base.startswith("http://[::1]:")
    outcome = await run_check(make_spec("http", base + "/", keyword="ok"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.connect_ms > 0


async def test_ip_family_preference_falls_back(serve_app, make_spec, monkeypatch, sane):
    base = await serve_app(text_app({"/": ok}))
    port = base.rsplit(":", 1)[1]

    async def fake_lookup(host: str, port: int = 0) -> list[str]:
        return ["::1", "127.0.0.1"]

    monkeypatch.setattr(netpolicy, "lookup", fake_lookup)
    # Nothing listens on [::1]:port, so preferring IPv6 must fall back to IPv4.
    for family in ("ipv6", "ipv4", "any"):
        outcome = await run_check(make_spec("http", f"http://dual.test:{port}/", ip_family=family))
        sane(outcome)
        assert outcome.is_up, (family, outcome)


async def test_connection_refused(make_spec, closed_port, sane):
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{closed_port}/"))
    sane(outcome)
    assert not outcome.is_up
    assert outcome.error_class == ErrorClass.CONNECT
    assert "refused" in outcome.message
    assert f"127.0.0.1:{closed_port}" in outcome.message
    assert outcome.phases.connect_ms > 0


async def test_unresolvable_name(make_spec, sane):
    outcome = await run_check(make_spec("http", "http://does-not-exist.invalid/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.DNS
    assert "does-not-exist.invalid" in outcome.message


async def test_invalid_options_are_internal(make_spec, sane):
    outcome = await run_check(make_spec("http", "http://127.0.0.1:1/", expected_status="abc"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.INTERNAL
    assert "expected_status" in outcome.message
    outcome = await run_check(make_spec("http", "ftp://example.com/"))
    assert outcome.error_class == ErrorClass.INTERNAL


# --- status -------------------------------------------------------------------


async def test_status_ranges(serve_app, make_spec, sane):
    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    async def teapot(request: web.Request) -> web.Response:
        return web.Response(status=418)

    base = await serve_app(text_app({"/503": unavailable, "/418": teapot}))
    outcome = await run_check(make_spec("http", base + "/503"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.HTTP_STATUS
    assert outcome.message == "expected status 200-299, got 503"
    assert outcome.status_code == 503

    assert (await run_check(make_spec("http", base + "/503", expected_status="500-599"))).is_up
    assert (await run_check(make_spec("http", base + "/503", expected_status=["5xx"]))).is_up
    assert (
        await run_check(make_spec("http", base + "/418", expected_status=[200, "400-499"]))
    ).is_up
    outcome = await run_check(make_spec("http", base + "/418", expected_status=[200, 204]))
    assert outcome.message == "expected status 200, 204, got 418"


# --- redirects ------------------------------------------------------------------


async def test_redirect_chain_absolute_and_relative(serve_app, make_spec, sane):
    seen: list[str] = []
    base = ""

    async def hop(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        step = request.match_info["n"]
        if step == "1":
            raise web.HTTPMovedPermanently(base + "/a/2")  # absolute
        if step == "2":
            raise web.HTTPFound("3?x=1")  # relative to /a/
        if step == "3":
            raise web.HTTPSeeOther("../b/4")  # dot segments
        raise web.HTTPTemporaryRedirect("/final")  # absolute path

    async def final(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.Response(text="arrived")

    app = web.Application()
    app.router.add_get("/a/{n}", hop)
    app.router.add_get("/b/{n}", hop)
    app.router.add_get("/final", final)
    base = await serve_app(app)
    outcome = await run_check(make_spec("http", base + "/a/1", keyword="arrived"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.status_code == 200
    assert seen == ["/a/1", "/a/2", "/a/3?x=1", "/b/4", "/final"]
    # Connection reused within the check: one connect, five round trips.
    assert outcome.phases.first_byte_ms > 0


async def test_redirect_loop(serve_app, make_spec, sane):
    async def ping(request: web.Request) -> web.Response:
        raise web.HTTPFound("/pong")

    async def pong(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ping")

    base = await serve_app(text_app({"/ping": ping, "/pong": pong}))
    outcome = await run_check(make_spec("http", base + "/ping"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert "redirect loop" in outcome.message
    assert "/ping -> " in outcome.message
    assert outcome.status_code == 302


async def test_redirect_to_self_with_new_cookie_is_not_a_loop(serve_app, make_spec, sane):
    async def gate(request: web.Request) -> web.Response:
        if request.cookies.get("session") == "yes":
            return web.Response(text="welcome")
        response = web.HTTPFound("/gate")
        response.set_cookie("session", "yes")
        raise response

    base = await serve_app(text_app({"/gate": gate}))
    outcome = await run_check(make_spec("http", base + "/gate", keyword="welcome"))
    sane(outcome)
    assert outcome.is_up, outcome


async def test_too_many_redirects(serve_app, make_spec, sane):
    async def counter(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/r/{n + 1}")

    app = web.Application()
    app.router.add_get("/r/{n}", counter)
    base = await serve_app(app)
    outcome = await run_check(make_spec("http", base + "/r/0", max_redirects=3))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert "too many redirects" in outcome.message
    assert "3" in outcome.message


def _recorder_app(seen: list[tuple[str, str, bytes]], first_status: int) -> web.Application:
    async def start(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, await request.read()))
        raise {
            301: web.HTTPMovedPermanently,
            302: web.HTTPFound,
            303: web.HTTPSeeOther,
            307: web.HTTPTemporaryRedirect,
            308: web.HTTPPermanentRedirect,
        }[first_status]("/next")

    async def after(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, await request.read()))
        return web.Response(text="done")

    return text_app({"/start": start, "/next": after})


@pytest.mark.parametrize(
    ("status", "method", "expected_method", "keeps_body"),
    [
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (303, "HEAD", "HEAD", False),
        (302, "POST", "GET", False),
        (301, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (307, "POST", "POST", True),
        (308, "POST", "POST", True),
    ],
)
async def test_redirect_method_rules(
    serve_app, make_spec, sane, status, method, expected_method, keeps_body
):
    seen: list[tuple[str, str, bytes]] = []
    base = await serve_app(_recorder_app(seen, status))
    body = None if method == "HEAD" else "payload=1"
    options = {"method": method} | ({"body": body} if body else {})
    outcome = await run_check(make_spec("http", base + "/start", **options))
    sane(outcome)
    assert outcome.is_up, outcome
    assert seen[0] == (method, "/start", body.encode() if body else b"")
    assert seen[1][0] == expected_method
    assert seen[1][2] == (b"payload=1" if keeps_body else b"")


async def test_follow_off_reports_the_3xx(serve_app, make_spec, sane):
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/elsewhere")

    base = await serve_app(text_app({"/old": moved, "/elsewhere": ok}))
    outcome = await run_check(make_spec("http", base + "/old", follow_redirects=False))
    sane(outcome)
    assert outcome.error_class == ErrorClass.HTTP_STATUS
    assert outcome.status_code == 301
    assert outcome.message == "expected status 200-299, got 301"
    outcome = await run_check(
        make_spec("http", base + "/old", follow_redirects=False, expected_status=[301])
    )
    assert outcome.is_up and outcome.status_code == 301


async def test_credentials_not_sent_to_another_origin(serve_app, make_spec, sane):
    auth_seen: dict[str, str | None] = {}

    async def other(request: web.Request) -> web.Response:
        auth_seen["other"] = request.headers.get("Authorization")
        return web.Response(text="ok")

    other_base = await serve_app(text_app({"/": other}))

    async def protected(request: web.Request) -> web.Response:
        auth_seen["first"] = request.headers.get("Authorization")
        raise web.HTTPFound(other_base + "/")

    base = await serve_app(text_app({"/": protected}))
    outcome = await run_check(
        make_spec("http", base + "/", basic_auth={"username": "u", "password": "p"})
    )
    sane(outcome)
    assert outcome.is_up
    assert auth_seen["first"] == "Basic dTpw"
    assert auth_seen["other"] is None


async def test_bearer_token_and_headers(serve_app, make_spec):
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "auth": request.headers.get("Authorization"),
                "x": request.headers.get("X-Probe"),
                "ua": request.headers.get("User-Agent"),
            }
        )

    base = await serve_app(text_app({"/": echo}))
    outcome = await run_check(
        make_spec(
            "http",
            base + "/",
            bearer_token="t0k",
            headers={"X-Probe": "1"},
            json_assertions=[
                {"path": "$.auth", "op": "eq", "value": "Bearer t0k"},
                {"path": "x", "value": "1"},
                {"path": "$.ua", "op": "contains", "value": "Mometrics"},
            ],
        )
    )
    assert outcome.is_up, outcome


# --- body assertions ---------------------------------------------------------------


async def test_keyword_and_absent(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    url = base + "/"
    assert (await run_check(make_spec("http", url, keyword="systems ok"))).is_up
    outcome = await run_check(make_spec("http", url, keyword="SYSTEMS OK"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "keyword 'SYSTEMS OK' not found in the body"
    assert outcome.status_code == 200
    assert (
        await run_check(make_spec("http", url, keyword="SYSTEMS OK", keyword_case_sensitive=False))
    ).is_up
    outcome = await run_check(make_spec("http", url, keyword_absent="ok"))
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "'ok' found" in outcome.message
    assert (await run_check(make_spec("http", url, keyword_absent="error"))).is_up


async def test_body_regex(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    assert (await run_check(make_spec("http", base + "/", body_regex=r"systems\s+o[k]"))).is_up
    outcome = await run_check(make_spec("http", base + "/", body_regex=r"^down$"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "body_regex '^down$' did not match" in outcome.message


async def test_json_assertions(serve_app, make_spec, sane):
    document = {
        "status": "ok",
        "version": 3,
        "ratio": 0.5,
        "ready": True,
        "items": [{"name": "a"}, {"name": "b"}],
        "tags": ["x", "y"],
        "weird.key": 1,
    }

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(document)

    base = await serve_app(text_app({"/": handler}))
    url = base + "/"
    passing = [
        {"path": "$.status", "op": "eq", "value": "ok"},
        {"path": "$.version", "op": "ge", "value": 3},
        {"path": "$.version", "op": "eq", "value": 3.0},
        {"path": "$.ratio", "op": "lt", "value": 1},
        {"path": "$.ready", "op": "eq", "value": True},
        {"path": "$.items[1].name", "op": "eq", "value": "b"},
        {"path": "items.0.name", "op": "ne", "value": "b"},
        {"path": "$.tags", "op": "contains", "value": "y"},
        {"path": "$.status", "op": "contains", "value": "o"},
        {"path": "$['weird.key']", "op": "exists"},
        {"path": "$.missing", "op": "exists", "value": False},
    ]
    outcome = await run_check(make_spec("http", url, json_assertions=passing))
    sane(outcome)
    assert outcome.is_up, outcome

    cases = [
        (
            {"path": "$.status", "op": "eq", "value": "degraded"},
            'JSON $.status: expected eq "degraded", got "ok"',
        ),
        ({"path": "$.version", "op": "gt", "value": 3}, "JSON $.version: expected gt 3, got 3"),
        ({"path": "$.ready", "op": "eq", "value": 1}, "JSON $.ready: expected eq 1, got true"),
        (
            {"path": "$.items[5].name", "op": "eq", "value": "x"},
            "JSON path $.items[5].name not found",
        ),
        ({"path": "$.nope", "op": "exists"}, "JSON path $.nope not found"),
        (
            {"path": "$.tags", "op": "contains", "value": "z"},
            'JSON $.tags: expected to contain "z", got ["x", "y"]',
        ),
    ]
    for assertion, message in cases:
        outcome = await run_check(make_spec("http", url, json_assertions=[assertion]))
        sane(outcome)
        assert outcome.error_class == ErrorClass.ASSERTION, assertion
        assert outcome.message == message


async def test_json_assertion_on_non_json(serve_app, make_spec):
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(
        make_spec("http", base + "/", json_assertions=[{"path": "$.a", "op": "exists"}])
    )
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message.startswith("body is not valid JSON")


# --- encodings ----------------------------------------------------------------------


async def test_gzip_and_brotli_bodies(serve_app, make_spec, sane):
    text = "compressed greeting: hello ünïcode " + "padding " * 200

    async def gz(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(text.encode()),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
        )

    async def br(request: web.Request) -> web.Response:
        assert "br" in request.headers.get("Accept-Encoding", "")
        return web.Response(
            body=brotli.compress(text.encode()),
            headers={"Content-Encoding": "br", "Content-Type": "text/plain; charset=utf-8"},
        )

    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=b"this is not gzip at all", headers={"Content-Encoding": "gzip"})

    base = await serve_app(text_app({"/gz": gz, "/br": br, "/broken": broken}))
    for path in ("/gz", "/br"):
        outcome = await run_check(make_spec("http", base + path, keyword="hello ünïcode"))
        sane(outcome)
        assert outcome.is_up, (path, outcome)
    outcome = await run_check(make_spec("http", base + "/broken", keyword="gzip"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert "Content-Encoding gzip" in outcome.message


async def test_non_utf8_bodies(serve_app, make_spec, sane):
    async def latin1(request: web.Request) -> web.Response:
        return web.Response(
            body="Café crème brûlée".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        )

    async def cp1251_meta(request: web.Request) -> web.Response:
        page = (
            '<html><head><meta charset="windows-1251"><title>t</title></head>'
            "<body>Привет, мир</body></html>"
        )
        return web.Response(body=page.encode("cp1251"), headers={"Content-Type": "text/html"})

    async def cp1251_http_equiv(request: web.Request) -> web.Response:
        page = (
            '<html><head><meta http-equiv="Content-Type" '
            'content="text/html; charset=windows-1251"></head><body>Добрый день</body></html>'
        )
        return web.Response(body=page.encode("cp1251"), headers={"Content-Type": "text/html"})

    base = await serve_app(
        text_app({"/latin1": latin1, "/meta": cp1251_meta, "/equiv": cp1251_http_equiv})
    )
    for path, word in (("/latin1", "brûlée"), ("/meta", "Привет"), ("/equiv", "Добрый")):
        outcome = await run_check(make_spec("http", base + path, keyword=word))
        sane(outcome)
        assert outcome.is_up, (path, outcome)
    outcome = await run_check(
        make_spec("http", base + "/meta", keyword="привет", keyword_case_sensitive=False)
    )
    assert outcome.is_up


# --- body cap --------------------------------------------------------------------


async def test_body_cap(serve_app, make_spec, sane):
    big = b"HEAD-MARKER " + b"x" * (3 * 1024 * 1024) + b" TAIL-MARKER"

    async def large(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="text/plain")

    base = await serve_app(text_app({"/": large}))
    url = base + "/"
    outcome = await run_check(make_spec("http", url))
    sane(outcome)
    assert outcome.is_up, outcome
    outcome = await run_check(make_spec("http", url, keyword="HEAD-MARKER"))
    assert outcome.is_up, outcome
    outcome = await run_check(make_spec("http", url, keyword="TAIL-MARKER"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "keyword 'TAIL-MARKER' not found in the first 1048576 bytes"
    outcome = await run_check(
        make_spec("http", url, keyword="TAIL-MARKER", max_body_bytes=4 * 1024 * 1024)
    )
    assert outcome.is_up, outcome
    outcome = await run_check(make_spec("http", url, keyword_absent="nothing", max_body_bytes=1024))
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "max_body_bytes 1024" in outcome.message
    outcome = await run_check(
        make_spec(
            "http", url, json_assertions=[{"path": "$.a", "op": "exists"}], max_body_bytes=1024
        )
    )
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "whole body" in outcome.message


# --- timeouts and broken servers --------------------------------------------------


async def test_slow_drip_body_hits_the_timeout(serve_app, make_spec, sane):
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "text/plain"
        await response.prepare(request)
        try:
            for _ in range(200):
                await response.write(b"drip ")
                await asyncio.sleep(0.05)
        except (ConnectionError, RuntimeError):
            pass
        return response

    base = await serve_app(text_app({"/": drip}))
    outcome = await run_check(make_spec("http", base + "/", timeout_s=0.6))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TIMEOUT
    assert outcome.message == "timed out after 0.6s while reading the response (phase transfer)"
    assert outcome.status_code == 200
    assert 500 <= outcome.latency_ms <= 600  # clamped to the deadline
    assert outcome.phases.transfer_ms > 400


async def test_slow_headers_time_out_waiting_for_first_byte(serve_app, make_spec, sane):
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late")

    base = await serve_app(text_app({"/": stall}))
    outcome = await run_check(make_spec("http", base + "/", timeout_s=0.4))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TIMEOUT
    assert "0.4s" in outcome.message and "first byte" in outcome.message
    assert outcome.phases.first_byte_ms > 300


async def test_connection_closed_mid_body(raw_server, make_spec, sane):
    async def half(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
            + b"a" * 100
        )
        await writer.drain()
        await asyncio.sleep(0.05)

    port = await raw_server(half)
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{port}/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert (
        outcome.message == "connection closed before the body was complete (got 100 of 1000 bytes)"
    )
    assert outcome.status_code == 200


async def test_connection_closed_before_response(raw_server, make_spec, sane):
    async def rude(reader, writer):
        await reader.readuntil(b"\r\n\r\n")

    port = await raw_server(rude)
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{port}/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert "without a response" in outcome.message


async def test_garbage_response(raw_server, make_spec, sane):
    async def garbage(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
        await writer.drain()

    port = await raw_server(garbage)
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{port}/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.PROTOCOL
    assert outcome.message.startswith("invalid HTTP response")


async def test_head_request(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(make_spec("http", base + "/", method="HEAD"))
    sane(outcome)
    assert outcome.is_up and outcome.status_code == 200


# --- TLS ----------------------------------------------------------------------


async def test_tls_ok_with_phases_and_expiry(serve_app, server_tls, ca_pem, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("good"))
    outcome = await run_check(make_spec("http", base + "/", ca_pem=ca_pem, keyword="ok"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.message == ""
    assert outcome.phases.connect_ms > 0
    assert outcome.phases.tls_ms > 0
    assert outcome.phases.first_byte_ms > 0
    assert outcome.cert_expires_at is not None and outcome.cert_expires_at > 0


async def test_tls_expiry_warning(serve_app, server_tls, ca_pem, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("soon"))
    outcome = await run_check(make_spec("http", base + "/", ca_pem=ca_pem))
    sane(outcome)
    assert outcome.is_up
    assert outcome.message.startswith("certificate for 127.0.0.1 expires in 5 days")
    quiet = await run_check(
        make_spec("http", base + "/", ca_pem=ca_pem, cert_expiry_warning_days=3)
    )
    assert quiet.is_up and quiet.message == ""


async def test_tls_expired(serve_app, server_tls, ca_pem, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("expired"))
    outcome = await run_check(make_spec("http", base + "/", ca_pem=ca_pem))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message == "TLS certificate has expired"
    relaxed = await run_check(make_spec("http", base + "/", ca_pem=ca_pem, verify_tls=False))
    sane(relaxed)
    assert relaxed.is_up
    assert "expired 3 days ago" in relaxed.message


async def test_tls_self_signed(serve_app, server_tls, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("self_signed"))
    outcome = await run_check(make_spec("http", base + "/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert "self-signed" in outcome.message
    relaxed = await run_check(make_spec("http", base + "/", verify_tls=False))
    sane(relaxed)
    assert relaxed.is_up
    assert relaxed.phases.tls_ms > 0
    assert relaxed.cert_expires_at is not None


async def test_tls_wrong_host_and_server_name(serve_app, server_tls, ca_pem, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("wrong_host"))
    outcome = await run_check(make_spec("http", base + "/", ca_pem=ca_pem))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message == "TLS certificate is not valid for '127.0.0.1'"
    outcome = await run_check(
        make_spec("http", base + "/", ca_pem=ca_pem, server_name="other.example")
    )
    assert outcome.is_up, outcome


async def test_tls_unknown_ca(serve_app, server_tls, make_spec, sane):
    base = await serve_app(text_app({"/": ok}), ssl_context=server_tls("good"))
    outcome = await run_check(make_spec("http", base + "/"))  # system store only
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert "unknown CA" in outcome.message


async def test_https_to_plain_server(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(make_spec("http", base.replace("http://", "https://") + "/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message.startswith("TLS handshake failed")


async def test_phases_sum_over_redirect_hops(serve_app, server_tls, ca_pem, make_spec, sane):
    plain = ""

    async def to_plain(request: web.Request) -> web.Response:
        raise web.HTTPFound(plain + "/done")

    async def done(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        return web.Response(text="done")

    plain = await serve_app(text_app({"/done": done}))
    secure = await serve_app(text_app({"/go": to_plain}), ssl_context=server_tls("good"))
    outcome = await run_check(make_spec("http", secure + "/go", ca_pem=ca_pem))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.tls_ms > 0  # first hop only
    assert outcome.phases.first_byte_ms >= 100  # includes the final hop's wait
    assert outcome.cert_expires_at is None  # final hop was plain HTTP


# --- private address policy -----------------------------------------------------------


async def test_private_targets_blocked_by_default(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    port = base.rsplit(":", 1)[1]
    outcome = await run_check(make_spec("http", base + "/", blocked=True))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT
    assert "127.0.0.1" in outcome.message and "loopback" in outcome.message
    assert outcome.phases.connect_ms == 0  # never connected

    outcome = await run_check(make_spec("http", f"http://localhost:{port}/", blocked=True))
    assert outcome.error_class == ErrorClass.CONNECT
    assert "127.0.0.1" in outcome.message

    allowed = await run_check(make_spec("http", f"http://localhost:{port}/", blocked=False))
    assert allowed.is_up


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:80/",
        "http://0.0.0.0:80/",
        "http://10.1.2.3/",
        "http://[::1]:80/",
    ],
)
async def test_blocked_literals(make_spec, sane, target):
    outcome = await run_check(make_spec("http", target, blocked=True, timeout_s=2))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT, outcome
    assert "blocked" in outcome.message or "not allowed" in outcome.message


async def test_redirect_hop_to_blocked_address(serve_app, make_spec, monkeypatch, sane):
    """Each hop is vetted: the first target is allowed, the hop is not."""
    real = netpolicy.blocked_reason

    def only_first_loopback_allowed(address):
        return None if str(address) == "127.0.0.1" else real(address)

    monkeypatch.setattr(netpolicy, "blocked_reason", only_first_loopback_allowed)
    hits: list[str] = []

    async def to_metadata(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    async def to_named(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://ip6-loopback-name.test:80/")

    async def fake_lookup(host: str, port: int = 0) -> list[str]:
        return ["::1"]

    monkeypatch.setattr(netpolicy, "lookup", fake_lookup)
    base = await serve_app(text_app({"/meta": to_metadata, "/named": to_named}))
    outcome = await run_check(make_spec("http", base + "/meta", blocked=True))
    sane(outcome)
    assert hits == ["/meta"]
    assert outcome.error_class == ErrorClass.CONNECT
    assert "169.254.169.254" in outcome.message and "cloud metadata" in outcome.message

    outcome = await run_check(make_spec("http", base + "/named", blocked=True))
    assert outcome.error_class == ErrorClass.CONNECT
    assert "::1" in outcome.message


# --- the frame -------------------------------------------------------------------


async def test_unknown_kind(make_spec, sane):
    outcome = await run_check(make_spec("ftp", "ftp://example.com/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.INTERNAL
    assert "unknown check kind 'ftp'" in outcome.message


async def test_internal_error_has_no_traceback(make_spec, monkeypatch, sane):
    from mometrics_agent.checks import http as http_check

    async def boom(spec, rec):
        raise ValueError("secret internals\nTraceback (most recent call last)")

    monkeypatch.setattr(http_check, "run", boom)
    outcome = await run_check(make_spec("http", "http://127.0.0.1:1/"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.INTERNAL
    assert outcome.message == "internal error in the http check (ValueError)"


async def test_cancellation_propagates(serve_app, make_spec):
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    base = await serve_app(text_app({"/": stall}))
    task = asyncio.create_task(run_check(make_spec("http", base + "/", timeout_s=10)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_json_body_is_sent_as_json(serve_app, make_spec):
    received: dict[str, object] = {}

    async def echo(request: web.Request) -> web.Response:
        received["type"] = request.headers.get("Content-Type")
        received["body"] = json.loads(await request.read())
        return web.Response(text="ok")

    base = await serve_app(text_app({"/": echo}))
    outcome = await run_check(make_spec("http", base + "/", method="POST", body={"a": [1, 2]}))
    assert outcome.is_up
    assert received == {"type": "application/json", "body": {"a": [1, 2]}}


# --- the control plane's option shapes -------------------------------------------


async def test_control_plane_defaults_are_accepted(serve_app, make_spec, sane):
    """Every default the control plane's schema can store must run as-is."""
    schemas = pytest.importorskip("mometrics_control.monitors.schemas")
    defaults = schemas.HttpOptions().model_dump()
    base = await serve_app(text_app({"/": ok}))
    outcome = await run_check(make_spec("http", base + "/", **defaults))
    sane(outcome)
    assert outcome.is_up, outcome


async def test_keyword_absent_as_a_flag(serve_app, make_spec, sane):
    base = await serve_app(text_app({"/": ok}))
    url = base + "/"
    outcome = await run_check(make_spec("http", url, keyword="ok", keyword_absent=True))
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "keyword 'ok' found in the body, expected it absent"
    assert (await run_check(make_spec("http", url, keyword="error", keyword_absent=True))).is_up
    assert (await run_check(make_spec("http", url, keyword="ok", keyword_absent=False))).is_up


async def test_empty_expected_status_and_null_exists(serve_app, make_spec):
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"a": None})

    base = await serve_app(text_app({"/": handler}))
    outcome = await run_check(
        make_spec(
            "http",
            base + "/",
            expected_status=[],
            json_assertions=[
                {"path": "$.a", "op": "exists", "value": None},
                {"path": "$.a", "op": "eq", "value": None},
            ],
        )
    )
    assert outcome.is_up, outcome


async def test_stale_kept_alive_connection_is_retried_once(raw_server, make_spec, sane):
    """The server drops the kept-alive connection instead of answering hop 2."""
    connections = 0

    async def handler(reader, writer):
        nonlocal connections
        connections += 1
        request = await reader.readuntil(b"\r\n\r\n")
        if request.startswith(b"GET /a "):
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # hop 2 on this connection: no answer
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    port = await raw_server(handler)
    outcome = await run_check(make_spec("http", f"http://127.0.0.1:{port}/a", keyword="ok"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert connections == 2


async def test_url_credentials_are_sent_and_hidden(serve_app, make_spec, sane):
    async def loop_with_auth(request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == "Basic dXNlcjpzM2NyZXQ="
        raise web.HTTPFound(request.path)

    base = await serve_app(text_app({"/x": loop_with_auth}))
    url = base.replace("http://", "http://user:s3cret@") + "/x"
    outcome = await run_check(make_spec("http", url))
    sane(outcome)
    assert "redirect loop" in outcome.message
    assert "s3cret" not in outcome.message
