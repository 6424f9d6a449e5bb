"""Local targets for the check tests: HTTP(S), raw TCP, DNS and gRPC servers.

Everything listens on loopback, so tests build specs with
``is_private_blocked=False`` unless they test the policy itself.
The repository runs pytest-asyncio in auto mode; the modules also mark
themselves (``pytestmark = pytest.mark.asyncio``) and async fixtures use
``pytest_asyncio.fixture``, so they run the same under strict mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import dnslib
import pytest
import pytest_asyncio
import trustme
from aiohttp import web

from mometrics_agent.checks.base import CheckOutcome, CheckSpec


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6_loopback()


@pytest.fixture
def ipv6_loopback() -> None:
    """Skip the test where ::1 cannot be bound."""
    if not HAS_IPV6:
        pytest.skip("no IPv6 loopback")


# --- specs and outcome sanity ----------------------------------------------------


@pytest.fixture
def make_spec() -> Callable[..., CheckSpec]:
    def make(
        kind: str, target: str, *, timeout_s: float = 5.0, blocked: bool = False, **options: Any
    ) -> CheckSpec:
        return CheckSpec(
            monitor_id="m-test",
            kind=kind,
            target=target,
            interval_s=60,
            timeout_s=timeout_s,
            options=options,
            is_private_blocked=blocked,
        )

    return make


def assert_sane(outcome: CheckOutcome) -> None:
    """Invariants of every outcome: disjoint phases, short messages."""
    phases = outcome.phases
    parts = [
        phases.dns_ms,
        phases.connect_ms,
        phases.tls_ms,
        phases.first_byte_ms,
        phases.transfer_ms,
    ]
    assert all(p >= 0 for p in parts), phases
    assert sum(parts) <= outcome.latency_ms + 1e-6, (phases, outcome.latency_ms)
    assert "Traceback" not in outcome.message
    assert "\n" not in outcome.message
    assert len(outcome.message) < 400
    assert outcome.is_up == (outcome.error_class is None)


@pytest.fixture
def sane() -> Callable[[CheckOutcome], None]:
    return assert_sane


# --- certificates ----------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_pem(ca: trustme.CA) -> str:
    return ca.cert_pem.bytes().decode()


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> Callable[..., ssl.SSLContext]:
    """Server contexts: server_tls("good"|"expired"|"wrong_host"|"soon"|"self_signed")."""
    now = datetime.datetime.now(datetime.UTC)
    cache: dict[str, ssl.SSLContext] = {}

    def make(kind: str = "good") -> ssl.SSLContext:
        if kind in cache:
            return cache[kind]
        if kind == "good":
            cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
        elif kind == "expired":
            cert = ca.issue_cert(
                "localhost",
                "127.0.0.1",
                not_before=now - datetime.timedelta(days=30),
                not_after=now - datetime.timedelta(days=3),
            )
        elif kind == "soon":
            cert = ca.issue_cert(
                "localhost", "127.0.0.1", not_after=now + datetime.timedelta(days=5, hours=1)
            )
        elif kind == "wrong_host":
            cert = ca.issue_cert("other.example")
        elif kind == "self_signed":
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert_pem, key_pem = _self_signed("127.0.0.1")
            with _temp_files(cert_pem, key_pem) as (cert_path, key_path):
                ctx.load_cert_chain(cert_path, key_path)
            cache[kind] = ctx
            return ctx
        else:
            raise ValueError(kind)
        cache[kind] = _server_context(cert)
        return cache[kind]

    return make


def _self_signed(ip: str, dns_name: str | None = None) -> tuple[bytes, bytes]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip))]
                + ([x509.DNSName(dns_name)] if dns_name else [])
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@contextlib.contextmanager
def _temp_files(*blobs: bytes):
    import os
    import tempfile

    paths = []
    try:
        for blob in blobs:
            fd, path = tempfile.mkstemp()
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            paths.append(path)
        yield paths
    finally:
        for path in paths:
            os.unlink(path)


# --- HTTP servers ----------------------------------------------------------------


@pytest_asyncio.fixture
async def serve_app() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """serve_app(app, host="127.0.0.1", ssl_context=None) -> base URL."""
    runners: list[web.AppRunner] = []

    async def start(
        app: web.Application, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
    ) -> str:
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        scheme = "https" if ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


# --- raw TCP servers -------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest_asyncio.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """raw_server(handler, host="127.0.0.1", ssl_context=None) -> port."""
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[None]] = set()

    async def start(
        handler: Handler, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
    ) -> int:
        async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            tasks.add(asyncio.current_task())  # type: ignore[arg-type]
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(wrapped, host, 0, ssl=ssl_context)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()
    for task in list(tasks):
        task.cancel()
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- DNS server -----------------------------------------------------------------


class ZoneServer:
    """A tiny authoritative server over UDP and TCP on one port.

    ``records`` is zone text. Names not in the zone get NXDOMAIN; UDP answers
    larger than ``udp_limit`` are sent truncated (TC) with no records.
    """

    def __init__(self, records: str, udp_limit: int = 512, silent: bool = False) -> None:
        self.rrs = dnslib.RR.fromZone(records) if records.strip() else []
        self.udp_limit = udp_limit
        self.silent = silent
        self.udp_queries = 0
        self.tcp_queries = 0

    def answer(self, data: bytes) -> dnslib.DNSRecord:
        query = dnslib.DNSRecord.parse(data)
        reply = query.reply()
        qname, qtype = query.q.qname, query.q.qtype
        names = {rr.rname for rr in self.rrs}
        if qname not in names:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
            return reply
        for rr in self.rrs:
            if rr.rname == qname and (rr.rtype == qtype or rr.rtype == dnslib.QTYPE.CNAME):
                reply.add_answer(rr)
                if rr.rtype == dnslib.QTYPE.CNAME and qtype != dnslib.QTYPE.CNAME:
                    for target in self.rrs:
                        if target.rname == rr.rdata.label and target.rtype == qtype:
                            reply.add_answer(target)
        return reply

    def udp_reply(self, data: bytes) -> bytes:
        reply = self.answer(data)
        packed = reply.pack()
        if len(packed) > self.udp_limit:
            reply.rr = []
            reply.header.tc = 1
            packed = reply.pack()
        return packed


@pytest_asyncio.fixture
async def dns_server() -> AsyncIterator[Callable[..., Awaitable[tuple[ZoneServer, int]]]]:
    """dns_server(zone_text, host="127.0.0.1", ...) -> (server, port)."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(records: str, host: str = "127.0.0.1", **kwargs: Any) -> tuple[ZoneServer, int]:
        zone = ZoneServer(records, **kwargs)
        loop = asyncio.get_running_loop()

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                zone.udp_queries += 1
                if not zone.silent:
                    self.transport.sendto(zone.udp_reply(data), addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                length = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(length)
                zone.tcp_queries += 1
                packed = zone.answer(data).pack()
                writer.write(len(packed).to_bytes(2, "big") + packed)
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        for _attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, 0))
            port = transport.get_extra_info("sockname")[1]
            try:
                server = await asyncio.start_server(tcp, host, port)
            except OSError:
                transport.close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no port free for UDP and TCP")

        async def cleanup() -> None:
            transport.close()
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

        cleanups.append(cleanup)
        return zone, port

    yield start
    for cleanup in cleanups:
        await cleanup()


# --- gRPC health server ------------------------------------------------------------


@pytest_asyncio.fixture
async def grpc_server(ca: trustme.CA) -> AsyncIterator[Callable[..., Awaitable[tuple[Any, int]]]]:
    """grpc_server(tls=False) -> (health servicer, port)."""
    import grpc.aio
    from grpc_health.v1 import health_pb2_grpc
    from grpc_health.v1._async import HealthServicer

    servers: list[Any] = []

    async def start(tls: bool = False, self_signed: bool = False) -> tuple[Any, int]:
        server = grpc.aio.server()
        servicer = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        if tls or self_signed:
            import grpc as grpc_sync

            if self_signed:
                cert_pem, key_pem = _self_signed("127.0.0.1", dns_name="grpc.internal")
            else:
                cert = ca.issue_cert("localhost", "127.0.0.1")
                key_pem = cert.private_key_pem.bytes()
                cert_pem = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
            credentials = grpc_sync.ssl_server_credentials([(key_pem, cert_pem)])
            port = server.add_secure_port("127.0.0.1:0", credentials)
        else:
            port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        return servicer, port

    yield start
    for server in servers:
        await server.stop(None)
