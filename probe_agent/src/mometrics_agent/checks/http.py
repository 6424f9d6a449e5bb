"""HTTP(S) check.

Target: an ``http://`` or ``https://`` URL.

Options (``spec.options``; all optional, unknown keys ignored):

``method``                 HTTP method, default ``"GET"``.
``headers``                object of header name to value.
``body``                   request body: a string (sent as UTF-8) or any other
                           JSON value (sent as JSON, Content-Type
                           application/json unless a header sets one).
``basic_auth``             ``{"username": ..., "password": ...}``.
``bearer_token``           sent as ``Authorization: Bearer <token>``.
                           Credentials (and Cookie/Host headers given in
                           ``headers``) are not sent to another origin after
                           a redirect.
``follow_redirects``       default true. Redirects follow browser rules:
                           301/302 turn POST into GET, 303 turns anything but
                           HEAD into GET, 307/308 keep method and body;
                           relative Locations are resolved against the hop's
                           URL; cookies set along the way are kept for the
                           check. Revisiting a URL in the same state is
                           reported as a "redirect loop".
``max_redirects``          default 10; more is a failure.
``expected_status``        list of codes or ranges (``200``, ``"200-299"``,
                           ``"2xx"``), or one string of them separated by
                           commas. Default (or empty): any 2xx after
                           redirects. With
                           following off the 3xx is the final status.
``keyword``                text that must appear in the decoded body.
``keyword_absent``         text that must not appear in the decoded body; or
                           ``true`` to mean that ``keyword`` must not appear
                           (``false`` changes nothing).
``keyword_case_sensitive`` default true; applies to both keyword options.
``body_regex``             Python regular expression searched in the decoded
                           body (use inline flags such as ``(?i)``).
``json_assertions``        list of ``{"path", "op", "value"}``; path like
                           ``$.data.items[0].name`` (or ``data.items.0.name``);
                           op one of eq, ne, lt, le, gt, ge, contains, exists
                           (default eq, or exists when there is no value;
                           ``exists`` takes value true/false, default true).
                           Values compare as JSON: 1 equals 1.0, "1" does not.
``max_body_bytes``         default 1048576. Reading stops at the cap (the
                           rest is not downloaded); the check fails only if
                           an assertion needed more of the body (keyword or
                           regex not found in the part read, keyword_absent,
                           json_assertions).
``verify_tls``             default true.
``server_name``            SNI and certificate name for the target's host
                           (not used for hops to other hosts).
``ca_pem``                 PEM certificates to trust instead of the system
                           store (for private CAs).
``cert_expiry_warning_days`` default 14: a success message warns when the
                           final hop's certificate expires within this time.
``ip_family``              ``"any"`` (default, Happy Eyeballs), ``"ipv4"`` or
                           ``"ipv6"``: a preference, the other family is the
                           fallback.

Bodies are decompressed (gzip, deflate, br) and decoded to text with the
charset from Content-Type, a byte-order mark or an HTML ``<meta charset>``,
falling back to UTF-8, before any matching.

Connections: the checks of one event loop share an aiohttp session, but
every request opens a new connection and closes it after the response, so
each check measures what a new visitor gets. Redirect hops get new connections
too, even to the same origin, where a browser would reuse one. Cookies are
kept per check, along its redirect chain only.

Timings: DNS is the resolver call, for host names only. TCP connect and the
TLS handshake are timed separately by a connector that opens the socket
itself before handing it to the TLS layer. First byte runs from the
connection being ready (request sent included, like curl's starttransfer -
pretransfer) to the first response byte, and transfer from there to the
arrival of the last body byte. The ends of connect, TLS, first byte and
transfer are taken in the event loop's callbacks (socket writable, protocol
``connection_made`` and ``data_received``), when the event happens rather
than when the check's task next runs. A connect to several addresses
(Happy Eyeballs) is the exception. The total latency runs from the start of
the first phase to the last byte, so neither aiohttp's preparation of the
request nor the assertions on the body are part of it. Phases are summed
over redirect hops; status and certificate are the final hop's.

Error classes: dns, connect (including targets refused by the private-address
policy), tls, timeout, http_status (unexpected final status), assertion (body
checks), protocol (malformed responses, a connection closed mid-response,
redirect loops, too many redirects and unusable Locations: the chain never
produced a final response to judge).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import collections
import contextvars
import dataclasses
import errno
import json
import os
import re
import socket
import ssl
import time
import weakref
from collections.abc import Mapping
from typing import Any

import aiohappyeyeballs
import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

from mometrics_agent import __version__
from mometrics_agent.checks import netpolicy
from mometrics_agent.checks._common import (
    CheckFailure,
    OptionError,
    Recorder,
    format_host_port,
    opt_bool,
    opt_choice,
    opt_int,
    opt_str,
    oserror_text,
)
from mometrics_agent.checks._tlsutil import (
    cert_info,
    client_context,
    describe_expiry,
    describe_ssl_error,
    describe_verify_error,
    peer_cert_der,
)
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass

USER_AGENT = f"Mometrics-Agent/{__version__} (+uptime monitor)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_MAX_BODY = 1024 * 1024
# Header lines as long as curl accepts; aiohttp's 8 KiB default fails real
# sites with large cookies.
_MAX_HEADER_LINE = 100 * 1024
_HAPPY_EYEBALLS_DELAY = 0.25
# Not sent to another origin after a redirect.
_ORIGIN_BOUND_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "Host")
# Dropped with the body when a redirect turns the request into a GET.
_BODY_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Language",
    "Content-Location",
    "Transfer-Encoding",
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

# Regular expressions run off the event loop: a pathological pattern must
# not stall every other check. (The thread cannot be stopped; the check's
# timeout still ends the check.)
_REGEX_EXECUTOR = None


# --- options ------------------------------------------------------------------


class StatusSet:
    """Accepted status codes as inclusive ranges."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges

    @classmethod
    def parse(cls, value: Any) -> StatusSet:
        if value is None or value == [] or value == "":
            return cls([(200, 299)])
        items = value if isinstance(value, list) else [value]
        ranges: list[tuple[int, int]] = []
        for item in items:
            if isinstance(item, bool):
                raise OptionError("expected_status entries must be codes or ranges")
            if isinstance(item, int):
                ranges.append((item, item))
                continue
            if not isinstance(item, str):
                raise OptionError("expected_status entries must be codes or ranges")
            for token in item.split(","):
                token = token.strip().lower()
                if not token:
                    continue
                if re.fullmatch(r"[1-5]xx", token):
                    base = int(token[0]) * 100
                    ranges.append((base, base + 99))
                elif m := re.fullmatch(r"(\d{3})\s*-\s*(\d{3})", token):
                    ranges.append((int(m[1]), int(m[2])))
                elif re.fullmatch(r"\d{3}", token):
                    ranges.append((int(token), int(token)))
                else:
                    raise OptionError(
                        f"expected_status {token!r} is not a code or range like 200-299"
                    )
        if not ranges:
            raise OptionError("expected_status is empty")
        for low, high in ranges:
            if not 100 <= low <= high <= 599:
                raise OptionError(f"expected_status range {low}-{high} is not within 100-599")
        return cls(ranges)

    def __contains__(self, code: int) -> bool:
        return any(low <= code <= high for low, high in self.ranges)

    def __str__(self) -> str:
        return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in self.ranges)


_PATH_TOKEN = re.compile(
    r"\.([^.\[\]]+)|\[\s*(-?\d+)\s*\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
)
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "contains", "exists")
_MISSING = object()


@dataclasses.dataclass(frozen=True, slots=True)
class JsonAssertion:
    path: str
    segments: tuple[str | int, ...]
    op: str
    value: Any

    @classmethod
    def parse(cls, raw: Any) -> JsonAssertion:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("path"), str):
            raise OptionError("each json_assertions entry needs a string path")
        path = raw["path"].strip()
        has_value = "value" in raw
        op = raw.get("op") or ("eq" if has_value else "exists")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise OptionError(f"json_assertions op must be one of {', '.join(_OPS)}")
        op = op.lower()
        value = raw.get("value")
        if op == "exists" and value is None:
            value = True
        if op == "exists" and not isinstance(value, bool):
            raise OptionError("json_assertions exists takes value true or false")
        if op != "exists" and not has_value:
            raise OptionError(f"json_assertions {op} on {path} needs a value")
        return cls(path, _parse_path(path), op, value)


def _parse_path(path: str) -> tuple[str | int, ...]:
    text = path[1:] if path.startswith("$") else path
    if text and not text.startswith((".", "[")):
        text = "." + text
    segments: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m:
            raise OptionError(f"json_assertions path {path!r} is not like $.a.b[0]")
        if m[1] is not None:
            segments.append(m[1])
        elif m[2] is not None:
            segments.append(int(m[2]))
        else:
            quoted = m[3] if m[3] is not None else m[4]
            segments.append(re.sub(r"\\(.)", r"\1", quoted))
        pos = m.end()
    return tuple(segments)


@dataclasses.dataclass(slots=True)
class HttpOptions:
    method: str
    headers: CIMultiDict[str]
    body: bytes | None
    follow_redirects: bool
    max_redirects: int
    expected_status: StatusSet
    keyword: str | None
    keyword_absent: str | None
    keyword_case_sensitive: bool
    body_regex: re.Pattern[str] | None
    json_assertions: list[JsonAssertion]
    max_body_bytes: int
    verify_tls: bool
    server_name: str | None
    ca_pem: str | None
    cert_expiry_warning_days: int
    ip_family: str

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> HttpOptions:
        method = (opt_str(options, "method", "GET") or "GET").upper()
        if not _TOKEN.match(method):
            raise OptionError(f"method {method!r} is not a valid HTTP method")

        headers: CIMultiDict[str] = CIMultiDict()
        raw_headers = options.get("headers") or {}
        if not isinstance(raw_headers, Mapping):
            raise OptionError("headers must be an object of name to value")
        for name, value in raw_headers.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(name, str) or not _TOKEN.match(name) or not isinstance(value, str):
                raise OptionError(f"header {name!r} must be a valid name with a string value")
            if "\r" in value or "\n" in value:
                raise OptionError(f"header {name!r} contains a line break")
            headers.add(name, value)

        body: bytes | None = None
        raw_body = options.get("body")
        if isinstance(raw_body, str):
            body = raw_body.encode("utf-8")
        elif raw_body is not None:
            body = json.dumps(raw_body, separators=(",", ":")).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")

        basic = options.get("basic_auth")
        bearer = opt_str(options, "bearer_token")
        if basic is not None and bearer:
            raise OptionError("use basic_auth or bearer_token, not both")
        if basic is not None:
            if not isinstance(basic, Mapping) or not isinstance(basic.get("username"), str):
                raise OptionError("basic_auth needs a string username")
            username, password = basic["username"], basic.get("password") or ""
            if ":" in username or not isinstance(password, str):
                raise OptionError(
                    "basic_auth username must not contain ':' and password must be a string"
                )
            headers.setdefault("Authorization", _basic(username, password))
        elif bearer:
            if "\r" in bearer or "\n" in bearer:
                raise OptionError("bearer_token contains a line break")
            headers.setdefault("Authorization", f"Bearer {bearer}")

        regex_text = opt_str(options, "body_regex")
        body_regex = None
        if regex_text:
            try:
                body_regex = re.compile(regex_text)
            except re.error as exc:
                raise OptionError(f"body_regex does not compile: {exc}") from None

        raw_assertions = options.get("json_assertions") or []
        if not isinstance(raw_assertions, list):
            raise OptionError("json_assertions must be a list")

        keyword = opt_str(options, "keyword") or None
        keyword_absent = None
        raw_absent = options.get("keyword_absent")
        if isinstance(raw_absent, bool):
            # The control plane's form: a flag that turns `keyword` around.
            if raw_absent:
                if not keyword:
                    raise OptionError("keyword_absent is true but there is no keyword")
                keyword, keyword_absent = None, keyword
        elif raw_absent is not None:
            keyword_absent = opt_str(options, "keyword_absent") or None

        server_name = opt_str(options, "server_name") or None
        return cls(
            method=method,
            headers=headers,
            body=body,
            follow_redirects=opt_bool(options, "follow_redirects", True),
            max_redirects=opt_int(options, "max_redirects", 10, maximum=100),
            expected_status=StatusSet.parse(options.get("expected_status")),
            keyword=keyword,
            keyword_absent=keyword_absent,
            keyword_case_sensitive=opt_bool(options, "keyword_case_sensitive", True),
            body_regex=body_regex,
            json_assertions=[JsonAssertion.parse(item) for item in raw_assertions],
            max_body_bytes=opt_int(
                options, "max_body_bytes", DEFAULT_MAX_BODY, maximum=64 * 1024 * 1024
            ),
            verify_tls=opt_bool(options, "verify_tls", True),
            server_name=server_name.rstrip(".") if server_name else None,
            ca_pem=opt_str(options, "ca_pem") or None,
            cert_expiry_warning_days=opt_int(options, "cert_expiry_warning_days", 14, maximum=3650),
            ip_family=opt_choice(options, "ip_family", ("any", "ipv4", "ipv6"), "any"),
        )


# --- timing: a shared connector that splits connect from TLS -----------------


@dataclasses.dataclass(slots=True)
class _CheckState:
    """Facts about the running check that the shared resolver and connector use."""

    rec: Recorder
    block_private: bool
    prefer: str
    # (host, port) -> DER certificate of the last TLS connection there.
    peer_certs: dict[tuple[str, int], bytes] = dataclasses.field(default_factory=dict)
    # time.monotonic() readings, taken in protocol callbacks: when the
    # connection became ready for the request (after the TLS handshake, if
    # any), and when the most recent response bytes arrived.
    ready_at: float = 0.0
    received_at: float = 0.0


# Set by ``run`` for the duration of one check. aiohttp calls the resolver
# and the connector inside the task that made the request, so they see the
# state of their own check even though the session is shared.
_CURRENT_CHECK: contextvars.ContextVar[_CheckState] = contextvars.ContextVar("mometrics_http_check")


class _CheckResolver(AbstractResolver):
    """Resolver of the shared session: the running check's policy, and the DNS phase.

    aiohttp calls it for host names only, never for IP literals.
    """

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        state = _CURRENT_CHECK.get()
        state.rec.switch("dns")
        try:
            resolver = netpolicy.PolicyResolver(
                block_private=state.block_private, prefer=state.prefer
            )
            return await resolver.resolve(host, port, family)
        finally:
            state.rec.switch(None)

    async def close(self) -> None:
        return None


def _watch_events(protocol: asyncio.Protocol, state: _CheckState) -> None:
    """Note when the connection is ready and when response bytes arrive, as it happens.

    Taking the time in the protocol's callbacks, not where the check's task
    resumes later, keeps the event loop's queueing and the parsing of the
    response out of the phases.
    """
    original_made = protocol.connection_made
    original_received = protocol.data_received
    rec = state.rec

    def connection_made(transport: asyncio.BaseTransport) -> None:
        state.ready_at = time.monotonic()
        original_made(transport)

    def data_received(data: bytes) -> None:
        # aiohttp feeds an empty read at the end of the stream.
        if data:
            now = time.monotonic()
            if rec.phase == "first_byte":
                rec.switch("transfer", at=now)
            state.received_at = now
        original_received(data)

    protocol.connection_made = connection_made  # type: ignore[method-assign]
    protocol.data_received = data_received  # type: ignore[method-assign]


class TimedConnector(aiohttp.TCPConnector):
    """A TCPConnector that times the TCP connect and the TLS handshake apart.

    aiohttp opens the socket and runs the handshake inside one call; this
    connector opens the socket itself (Happy Eyeballs, as aiohttp does),
    then lets asyncio wrap it in TLS. It also vets the exact addresses
    against the private-address policy, remembers each TLS peer's
    certificate, and marks the first response byte. Everything specific to
    a check comes from ``_CURRENT_CHECK``, so one connector serves every
    check of an event loop.

    It overrides ``TCPConnector._wrap_create_connection``, whose keyword
    signature has been stable from aiohttp 3.8 through 3.14; the tests
    assert that connect and TLS timings are non-zero, which would catch a
    change.
    """

    async def _wrap_create_connection(  # type: ignore[override]
        self,
        *args: Any,
        addr_infos: list[Any],
        req: aiohttp.ClientRequest,
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, Any]:
        state = _CURRENT_CHECK.get()
        rec = state.rec
        host = req.url.raw_host or ""
        for info in addr_infos:
            netpolicy.check_address(host, info[4][0], block_private=state.block_private)

        factory = args[0]

        def timed_factory() -> Any:
            protocol = factory()
            _watch_events(protocol, state)
            return protocol

        loop = asyncio.get_running_loop()
        sslcontext = kwargs.get("ssl")
        delay = _HAPPY_EYEBALLS_DELAY if state.prefer == "any" else None
        # Happy Eyeballs below tries every address; emptying aiohttp's list
        # (the same object) stops it from trying the rest again on failure.
        candidates = list(addr_infos)
        addr_infos.clear()
        try:
            if len(candidates) == 1:
                sock, connected_at = await _connect_one(loop, candidates[0], rec)
            else:
                rec.switch("connect")
                sock = await aiohappyeyeballs.start_connection(
                    addr_infos=candidates,
                    happy_eyeballs_delay=delay,
                    interleave=1 if delay else None,
                    loop=loop,
                )
                connected_at = time.monotonic()
            # Without TLS the request is written next: time to first byte
            # includes sending it, like curl's starttransfer - pretransfer.
            rec.switch("tls" if sslcontext else "first_byte", at=connected_at)
            try:
                transport, protocol = await loop.create_connection(
                    timed_factory, *args[1:], **kwargs, sock=sock
                )
            except BaseException:
                sock.close()
                raise
            if sslcontext:
                rec.switch("first_byte", at=state.ready_at or None)
        except ssl.CertificateError as exc:
            raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        except ssl.SSLError as exc:
            raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc
        if sslcontext:
            der = peer_cert_der(transport.get_extra_info("ssl_object"))
            if der and req.url.port is not None:
                state.peer_certs[(host, req.url.port)] = der
        return transport, protocol


async def _connect_one(
    loop: asyncio.AbstractEventLoop, addr_info: Any, rec: Recorder
) -> tuple[socket.socket, float]:
    """Open a TCP connection to one address and return the socket and when it connected.

    The time is taken in the writability callback, when the handshake has
    completed, rather than when the check's task next runs.
    """
    family, sock_type, proto, _, address = addr_info
    sock = socket.socket(family=family, type=sock_type, proto=proto)
    try:
        sock.setblocking(False)
        rec.switch("connect")
        error = sock.connect_ex(address)
        connected_at = time.monotonic()
        if error == errno.EINPROGRESS:
            connected: asyncio.Future[float] = loop.create_future()

            def on_writable() -> None:
                if not connected.done():
                    connected.set_result(time.monotonic())

            loop.add_writer(sock.fileno(), on_writable)
            try:
                connected_at = await connected
            finally:
                loop.remove_writer(sock.fileno())
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, f"Connect call failed {address}: {os.strerror(error)}")
    except BaseException:
        sock.close()
        raise
    return sock, connected_at


class _SharedClient:
    """The aiohttp session and connector that every HTTP check of one event loop uses.

    ``force_close`` gives every request its own new connection, so nothing
    is pooled across checks or between the hops of one redirect chain. The
    session keeps no cookies. Each check has its own jar (see ``_exchange``).
    """

    def __init__(self) -> None:
        self.connector = TimedConnector(
            resolver=_CheckResolver(),
            use_dns_cache=False,
            force_close=True,
            # The scheduler bounds how many checks run at once.
            limit=0,
        )
        self.session = aiohttp.ClientSession(
            connector=self.connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            # The check's own deadline bounds everything, slow bodies included.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=None, sock_read=None
            ),
            headers={"User-Agent": USER_AGENT},
            auto_decompress=True,
            trust_env=False,
            max_line_size=_MAX_HEADER_LINE,
            max_field_size=_MAX_HEADER_LINE,
        )
        # A check is one attempt: no silent retry of a dropped request.
        if hasattr(self.session, "_retry_connection"):
            self.session._retry_connection = False


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedClient] = (
    weakref.WeakKeyDictionary()
)


def _shared_client() -> _SharedClient:
    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None or client.session.closed:
        client = _CLIENTS[loop] = _SharedClient()
    return client


async def close_shared_client() -> None:
    """Close the running event loop's shared session, if it has one.

    Call it before the loop ends. A later check opens a new session.
    """
    client = _CLIENTS.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.session.close()


# --- the check -------------------------------------------------------------


# Parsed options of recently run monitors, keyed by the id of the options
# dict and kept with it, so the id cannot be reused while the entry lives.
# A monitor's spec, and so its dict, is replaced rather than changed when
# the monitor changes. The bound keeps the memory small on agents with many
# monitors, where each runs rarely anyway.
_PARSED_OPTIONS: collections.OrderedDict[int, tuple[Mapping[str, Any], HttpOptions]] = (
    collections.OrderedDict()
)
_PARSED_OPTIONS_MAX = 1024


def _options(spec: CheckSpec) -> HttpOptions:
    key = id(spec.options)
    cached = _PARSED_OPTIONS.get(key)
    if cached is not None and cached[0] is spec.options:
        _PARSED_OPTIONS.move_to_end(key)
        return cached[1]
    opts = HttpOptions.parse(spec.options)
    _PARSED_OPTIONS[key] = (spec.options, opts)
    if len(_PARSED_OPTIONS) > _PARSED_OPTIONS_MAX:
        _PARSED_OPTIONS.popitem(last=False)
    return opts


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    opts = _options(spec)
    url = _target_url(spec.target)
    sslcontext = client_context(opts.verify_tls, opts.ca_pem)
    state = _CheckState(rec, spec.is_private_blocked, opts.ip_family)
    session = _shared_client().session
    token = _CURRENT_CHECK.set(state)
    try:
        # aiohttp prepares the request before it resolves or connects.
        rec.start(at_first_phase=True)
        return await _exchange(spec, opts, url, session, state, sslcontext)
    except CheckFailure as failure:
        return rec.fail(failure.error_class, failure.message)
    except netpolicy.BlockedAddressError as exc:
        return rec.fail(ErrorClass.CONNECT, exc.message)
    except aiohttp.ClientError as exc:
        error_class, message = _describe_client_error(exc, rec)
        return rec.fail(error_class, message)
    finally:
        _CURRENT_CHECK.reset(token)


def _target_url(target: str) -> URL:
    try:
        url = URL(target.strip())
    except (ValueError, TypeError):
        raise OptionError(f"target {target!r} is not a URL") from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise OptionError(f"target {target!r} must be an http:// or https:// URL with a host")
    return url.with_fragment(None)


async def _exchange(
    spec: CheckSpec,
    opts: HttpOptions,
    url: URL,
    session: aiohttp.ClientSession,
    state: _CheckState,
    sslcontext: ssl.SSLContext,
) -> CheckOutcome:
    rec = state.rec
    method, body, headers = opts.method, opts.body, opts.headers.copy()
    if url.user is not None:
        # Credentials in the URL become a header, so they follow the
        # same-origin rules below and never show up in messages.
        if "Authorization" not in headers:
            headers["Authorization"] = _basic(url.user, url.password or "")
        url = url.with_user(None)
    first_origin = url.origin()
    first_host = url.raw_host
    # Cookies set along a redirect chain, created at the first Set-Cookie.
    jar: aiohttp.CookieJar | None = None
    chain = [url]
    seen = {_hop_key(jar, method, url)}
    redirects = 0

    while True:
        if spec.is_private_blocked:
            ip = netpolicy.parse_ip(url.raw_host or "")
            if ip is not None:
                netpolicy.check_address(url.raw_host or "", str(ip), block_private=True)
        rec.activity = "sending the request"
        server_name = opts.server_name if url.raw_host == first_host else None
        resp = await session.request(
            method,
            url,
            data=body,
            headers=headers,
            cookies=_cookies_for(jar, url),
            allow_redirects=False,
            ssl=sslcontext,
            server_hostname=server_name if url.scheme == "https" else None,
        )
        try:
            rec.status_code = resp.status
            if "Set-Cookie" in resp.headers:
                jar = jar or aiohttp.CookieJar(unsafe=True)
                jar.update_cookies(resp.cookies, resp.url)
            location = resp.headers.get("Location")
            if not (opts.follow_redirects and resp.status in REDIRECT_STATUSES and location):
                return await _finish(opts, url, resp, state)

            next_url = _redirect_target(url, location)
            # Every hop has its own connection, so the redirect's body is
            # not read: closing is cheaper than draining.
            resp.close()
            rec.switch(None)
        finally:
            resp.release()

        redirects += 1
        if redirects > opts.max_redirects:
            raise CheckFailure(
                ErrorClass.PROTOCOL,
                f"too many redirects: stopped after {opts.max_redirects} (max_redirects), "
                f"next was {_short_url(next_url)}",
            )
        method, body, headers = _redirected_request(
            resp.status, method, body, headers, next_url, first_origin
        )
        chain.append(next_url)
        key = _hop_key(jar, method, next_url)
        if key in seen:
            raise CheckFailure(ErrorClass.PROTOCOL, "redirect loop: " + _describe_chain(chain))
        seen.add(key)
        url = next_url


def _cookies_for(jar: aiohttp.CookieJar | None, url: URL) -> dict[str, str] | None:
    """Return the check's cookies for ``url`` as plain name-value pairs.

    The session merges them into the request as cookies without a domain,
    which also works for IP-literal hosts. ``filter_cookies`` has already
    applied domain, path, expiry and the Secure flag.
    """
    if jar is None:
        return None
    return {name: morsel.value for name, morsel in jar.filter_cookies(url).items()} or None


def _basic(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _hop_key(jar: aiohttp.CookieJar | None, method: str, url: URL) -> tuple[str, str, str]:
    cookies = _cookies_for(jar, url) or {}
    state = "; ".join(sorted(f"{name}={value}" for name, value in cookies.items()))
    return method, str(url), state


def _redirect_target(url: URL, location: str) -> URL:
    try:
        target = url.join(URL(location.strip()))
    except (ValueError, TypeError):
        raise CheckFailure(
            ErrorClass.PROTOCOL, f"redirect to an invalid Location {location[:200]!r}"
        ) from None
    if target.scheme not in ("http", "https"):
        raise CheckFailure(
            ErrorClass.PROTOCOL, f"redirect to unsupported URL scheme {target.scheme!r}"
        )
    if not target.raw_host:
        raise CheckFailure(
            ErrorClass.PROTOCOL, f"redirect to a Location without a host {location[:200]!r}"
        )
    return target.with_fragment(None)


def _redirected_request(
    status: int,
    method: str,
    body: bytes | None,
    headers: CIMultiDict[str],
    next_url: URL,
    first_origin: URL,
) -> tuple[str, bytes | None, CIMultiDict[str]]:
    headers = headers.copy()
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        for name in _BODY_HEADERS:
            headers.popall(name, None)
    if next_url.origin() != first_origin:
        for name in _ORIGIN_BOUND_HEADERS:
            headers.popall(name, None)
    return method, body, headers


def _short_url(url: URL, limit: int = 100) -> str:
    text = str(url.with_user(None))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_chain(chain: list[URL]) -> str:
    shown = [_short_url(u, 80) for u in chain]
    if len(shown) > 6:
        shown = [*shown[:2], "...", *shown[-3:]]
    return " -> ".join(shown)


async def _read_capped(resp: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    """The decoded body up to ``cap`` bytes, and whether there was more."""
    buf = bytearray()
    truncated = False
    while True:
        try:
            chunk = await resp.content.readany()
        except aiohttp.ClientPayloadError as exc:
            raise CheckFailure(
                ErrorClass.PROTOCOL, _describe_payload_error(exc, len(buf), resp)
            ) from None
        if not chunk:
            break
        room = cap - len(buf)
        if len(chunk) > room:
            buf += chunk[:room]
            truncated = True
            break
        buf += chunk
    if truncated:
        # Stop downloading: the connection is dropped, not drained.
        resp.close()
    return bytes(buf), truncated


async def _finish(
    opts: HttpOptions, url: URL, resp: aiohttp.ClientResponse, state: _CheckState
) -> CheckOutcome:
    rec = state.rec
    data, truncated = await _read_capped(resp, opts.max_body_bytes)
    # The latency ends when the last bytes arrived, not when this task got
    # round to noticing.
    rec.finish_at(state.received_at or time.monotonic())

    warning = None
    if url.scheme == "https" and url.port is not None:
        info = cert_info(state.peer_certs.get((url.raw_host or "", url.port)))
        if info is not None:
            rec.cert_expires_at = info.not_after
            warning = describe_expiry(info, url.host or "", opts.cert_expiry_warning_days)

    if resp.status not in opts.expected_status:
        return rec.fail(
            ErrorClass.HTTP_STATUS, f"expected status {opts.expected_status}, got {resp.status}"
        )

    failure = await _check_body(opts, data, truncated, resp.headers.get("Content-Type"), rec)
    if failure is not None:
        return rec.fail(ErrorClass.ASSERTION, failure)
    return rec.ok(warning or "")


# --- body checks -------------------------------------------------------------


async def _check_body(
    opts: HttpOptions, data: bytes, truncated: bool, content_type: str | None, rec: Recorder
) -> str | None:
    needs_text = opts.keyword or opts.keyword_absent or opts.body_regex or opts.json_assertions
    if not needs_text:
        return None
    rec.note("checking the body")
    text = decode_body(data, content_type)
    where = f"the first {opts.max_body_bytes} bytes" if truncated else "the body"

    if opts.keyword or opts.keyword_absent:
        haystack = text if opts.keyword_case_sensitive else text.casefold()

        def has(word: str) -> bool:
            return (word if opts.keyword_case_sensitive else word.casefold()) in haystack

        if opts.keyword and not has(opts.keyword):
            return f"keyword {_quote(opts.keyword)} not found in {where}"
        if opts.keyword_absent:
            if has(opts.keyword_absent):
                return (
                    f"keyword {_quote(opts.keyword_absent)} found in the body, expected it absent"
                )
            if truncated:
                return (
                    f"cannot confirm keyword {_quote(opts.keyword_absent)} is absent: "
                    f"the body is longer than max_body_bytes {opts.max_body_bytes}"
                )

    if opts.body_regex is not None:
        rec.note("matching body_regex")
        loop = asyncio.get_running_loop()
        matched = await loop.run_in_executor(_regex_executor(), opts.body_regex.search, text)
        if matched is None:
            return f"body_regex {_quote(opts.body_regex.pattern)} did not match {where}"

    if opts.json_assertions:
        if truncated:
            return (
                "JSON assertions need the whole body, which is longer than "
                f"max_body_bytes {opts.max_body_bytes}"
            )
        try:
            document = json.loads(text)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            position = (
                f" (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            return f"body is not valid JSON: {reason}{position}"
        for assertion in opts.json_assertions:
            failure = _evaluate(assertion, document)
            if failure:
                return failure
    return None


def _regex_executor() -> Any:
    global _REGEX_EXECUTOR
    if _REGEX_EXECUTOR is None:
        import concurrent.futures

        _REGEX_EXECUTOR = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="mometrics-regex"
        )
    return _REGEX_EXECUTOR


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _lookup(document: Any, segments: tuple[str | int, ...]) -> Any:
    node = document
    for segment in segments:
        if isinstance(node, list):
            if isinstance(segment, str):
                if not re.fullmatch(r"-?\d+", segment):
                    return _MISSING
                segment = int(segment)
            if not -len(node) <= segment < len(node):
                return _MISSING
            node = node[segment]
        elif isinstance(node, dict):
            key = str(segment)
            if key not in node:
                return _MISSING
            node = node[key]
        else:
            return _MISSING
    return node


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def _evaluate(assertion: JsonAssertion, document: Any) -> str | None:
    path, op, expected = assertion.path, assertion.op, assertion.value
    actual = _lookup(document, assertion.segments)
    if op == "exists":
        if expected and actual is _MISSING:
            return f"JSON path {path} not found"
        if not expected and actual is not _MISSING:
            return f"JSON path {path} exists, expected it absent"
        return None
    if actual is _MISSING:
        return f"JSON path {path} not found"
    if op in ("eq", "ne"):
        equal = _json_equal(actual, expected)
        if equal == (op == "eq"):
            return None
        return f"JSON {path}: expected {op} {_show(expected)}, got {_show(actual)}"
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            ok = expected in actual
        elif isinstance(actual, list):
            ok = any(_json_equal(item, expected) for item in actual)
        elif isinstance(actual, dict) and isinstance(expected, str):
            ok = expected in actual
        else:
            return f"JSON {path}: cannot check whether {_show(actual)} contains {_show(expected)}"
        return (
            None
            if ok
            else f"JSON {path}: expected to contain {_show(expected)}, got {_show(actual)}"
        )
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
    if not comparable:
        return f"JSON {path}: cannot compare {_show(actual)} with {op} {_show(expected)}"
    ok = {
        "lt": actual < expected,
        "le": actual <= expected,
        "gt": actual > expected,
        "ge": actual >= expected,
    }[op]
    return None if ok else f"JSON {path}: expected {op} {_show(expected)}, got {_show(actual)}"


# --- charset ----------------------------------------------------------------

# WHATWG: these labels mean windows-1252 in practice.
_CP1252_LABELS = frozenset(
    {
        "iso-8859-1",
        "iso8859-1",
        "iso_8859-1",
        "latin1",
        "latin-1",
        "l1",
        "cp819",
        "ibm819",
        "us-ascii",
        "ascii",
        "windows-1252",
        "x-cp1252",
    }
)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _codec(label: str | bytes | None) -> str | None:
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    label = label.strip().strip("\"'").lower()
    if label in _CP1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return _codec(value)
    return None


def decode_body(data: bytes, content_type: str | None) -> str:
    """Text of a body: BOM, then Content-Type charset, then <meta>/XML, then UTF-8."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, "replace")
    encoding = _header_charset(content_type)
    if encoding is None:
        head = data[:4096]
        m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
        encoding = _codec(m.group(1)) if m else None
        # A page cannot really be UTF-16 if its ASCII <meta> was readable.
        if encoding and encoding.startswith("utf-16"):
            encoding = "utf-8"
    return data.decode(encoding or "utf-8", "replace")


# --- errors -----------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _describe_payload_error(exc: BaseException, got: int, resp: aiohttp.ClientResponse) -> str:
    names = {type(e).__name__ for e in _chain(exc)}
    text = " ".join(str(e) for e in _chain(exc))
    if (
        "ContentEncodingError" in names
        or "DecompressSizeError" in names
        or "decode content-encoding" in text
    ):
        encoding = resp.headers.get("Content-Encoding", "?")
        return f"could not decode the body (Content-Encoding {encoding})"
    expected = resp.headers.get("Content-Length")
    detail = (
        f"got {got} of {expected} bytes"
        if expected and not resp.headers.get("Content-Encoding")
        else f"after {got} bytes"
    )
    return f"connection closed before the body was complete ({detail})"


def _describe_client_error(exc: aiohttp.ClientError, rec: Recorder) -> tuple[ErrorClass, str]:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ErrorClass.TLS, describe_verify_error(exc.certificate_error, exc.host)
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return ErrorClass.TLS, describe_ssl_error(exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        cause = exc.os_error
        if isinstance(cause, socket.gaierror) and len(cause.args) >= 2:
            reason = str(cause.args[1]).lower()
        else:
            reason = oserror_text(cause)
        return ErrorClass.DNS, f"could not resolve {exc.host!r}: {reason}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = format_host_port(exc.host, exc.port or 0)
        return ErrorClass.CONNECT, f"could not connect to {where}: {oserror_text(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorClass.PROTOCOL, "server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorClass.PROTOCOL, "connection closed before the body was complete"
    if isinstance(exc, aiohttp.ClientResponseError):
        detail = (exc.message or "").splitlines()[0][:200] if exc.message else type(exc).__name__
        return ErrorClass.PROTOCOL, f"invalid HTTP response: {detail}"
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorClass.PROTOCOL, f"invalid URL {str(exc.url)[:200]!r}"
    if isinstance(exc, aiohttp.ClientOSError):
        for item in _chain(exc):
            if isinstance(item, ssl.SSLError):
                return ErrorClass.TLS, describe_ssl_error(item)
        when = "while reading the response" if rec.status_code else "before a response"
        return (
            ErrorClass.PROTOCOL if rec.status_code else ErrorClass.CONNECT,
            f"connection failed {when}: {oserror_text(exc)}",
        )
    return ErrorClass.PROTOCOL, f"request failed: {type(exc).__name__}"
