"""TCP and TLS certificate checks against local asyncio servers."""

from __future__ import annotations

import asyncio
import time

import pytest

from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import ErrorClass

pytestmark = pytest.mark.asyncio


async def echo_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 ready\r\n")
    await writer.drain()
    line = await reader.readline()
    if line.strip() == b"PING":
        await asyncio.sleep(0.05)
        writer.write(b"+PONG\r\n")
        await writer.drain()
    await asyncio.sleep(0.1)


# --- TCP --------------------------------------------------------------------------


async def test_tcp_connect_only(raw_server, make_spec, sane):
    port = await raw_server(echo_banner)
    outcome = await run_check(make_spec("tcp", f"127.0.0.1:{port}"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.connect_ms > 0
    assert outcome.phases.dns_ms == 0
    assert outcome.phases.first_byte_ms == 0


async def test_tcp_name_times_dns(raw_server, make_spec, sane):
    port = await raw_server(echo_banner)
    outcome = await run_check(make_spec("tcp", f"localhost:{port}"))
    sane(outcome)
    assert outcome.is_up
    assert outcome.phases.dns_ms > 0


async def test_tcp_send_expect(raw_server, make_spec, sane):
    port = await raw_server(echo_banner)
    outcome = await run_check(
        make_spec("tcp", f"127.0.0.1:{port}", send="PING\r\n", expect="+PONG")
    )
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.first_byte_ms > 0
    assert outcome.phases.transfer_ms >= 40  # PONG comes 50 ms after the banner


async def test_tcp_expect_mismatch(raw_server, make_spec, sane):
    port = await raw_server(echo_banner)
    outcome = await run_check(
        make_spec("tcp", f"127.0.0.1:{port}", send="HELLO\r\n", expect="+PONG")
    )
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "expected '+PONG', but the connection closed after '220 ready\\r\\n'"


async def test_tcp_expect_silence_times_out(raw_server, make_spec, sane):
    async def silent(reader, writer):
        await asyncio.sleep(3)

    port = await raw_server(silent)
    outcome = await run_check(make_spec("tcp", f"127.0.0.1:{port}", expect="hello", timeout_s=0.3))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TIMEOUT
    assert (
        outcome.message
        == "timed out after 0.3s while waiting for the first byte (phase first_byte)"
    )


async def test_tcp_refused(make_spec, closed_port, sane):
    outcome = await run_check(make_spec("tcp", f"127.0.0.1:{closed_port}"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT
    assert outcome.message == f"could not connect to 127.0.0.1:{closed_port}: connection refused"


async def test_tcp_ipv6(raw_server, make_spec, sane, ipv6_loopback):
    port = await raw_server(echo_banner, host="::1")
    outcome = await run_check(make_spec("tcp", f"[::1]:{port}", expect="220"))
    sane(outcome)
    assert outcome.is_up, outcome


async def test_tcp_blocked_and_bad_target(make_spec, sane):
    outcome = await run_check(make_spec("tcp", "127.0.0.1:22", blocked=True))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT
    assert "127.0.0.1 (loopback)" in outcome.message
    outcome = await run_check(make_spec("tcp", "127.0.0.1"))
    assert outcome.error_class == ErrorClass.INTERNAL
    assert "needs a port" in outcome.message


# --- TLS certificate check --------------------------------------------------------


async def tls_target(raw_server, server_tls, kind: str) -> str:
    async def idle(reader, writer):
        await asyncio.sleep(0.2)

    port = await raw_server(idle, ssl_context=server_tls(kind))
    return f"127.0.0.1:{port}"


async def test_tls_good(raw_server, server_tls, ca_pem, make_spec, sane):
    target = await tls_target(raw_server, server_tls, "good")
    outcome = await run_check(make_spec("tls", target, ca_pem=ca_pem))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.message == ""
    assert outcome.phases.connect_ms > 0 and outcome.phases.tls_ms > 0
    assert outcome.cert_expires_at and outcome.cert_expires_at > time.time() + 300 * 86400


async def test_tls_expiry_warning(raw_server, server_tls, ca_pem, make_spec, sane):
    target = await tls_target(raw_server, server_tls, "soon")
    outcome = await run_check(make_spec("tls", target, ca_pem=ca_pem))
    sane(outcome)
    assert outcome.is_up
    assert outcome.message.startswith("certificate for 127.0.0.1 expires in 5 days (")
    assert abs(outcome.cert_expires_at - (time.time() + 5 * 86400 + 3600)) < 120


async def test_tls_expired(raw_server, server_tls, ca_pem, make_spec, sane):
    target = await tls_target(raw_server, server_tls, "expired")
    outcome = await run_check(make_spec("tls", target, ca_pem=ca_pem))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message.startswith("certificate for 127.0.0.1 expired 3 days ago")
    assert outcome.cert_expires_at is not None and outcome.cert_expires_at < time.time()
    # Without verification the dates still decide.
    outcome = await run_check(make_spec("tls", target, verify_tls=False))
    assert outcome.error_class == ErrorClass.TLS
    assert "expired 3 days ago" in outcome.message


async def test_tls_self_signed(raw_server, server_tls, make_spec, sane):
    target = await tls_target(raw_server, server_tls, "self_signed")
    outcome = await run_check(make_spec("tls", target))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message.startswith("TLS certificate is self-signed and not trusted")
    assert "CN=self-signed test" in outcome.message
    assert outcome.cert_expires_at is not None
    outcome = await run_check(make_spec("tls", target, verify_tls=False))
    assert outcome.is_up, outcome


async def test_tls_wrong_host(raw_server, server_tls, ca_pem, make_spec, sane):
    target = await tls_target(raw_server, server_tls, "wrong_host")
    outcome = await run_check(make_spec("tls", target, ca_pem=ca_pem))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert (
        outcome.message
        == "TLS certificate is not valid for '127.0.0.1' (certificate names: other.example)"
    )
    outcome = await run_check(make_spec("tls", target, ca_pem=ca_pem, server_name="other.example"))
    assert outcome.is_up, outcome


async def test_tls_against_plaintext(raw_server, make_spec, sane):
    async def plain(reader, writer):
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()

    port = await raw_server(plain)
    outcome = await run_check(make_spec("tls", f"127.0.0.1:{port}"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS
    assert outcome.message.startswith("TLS handshake failed")


async def test_tls_handshake_timeout(raw_server, make_spec, sane):
    async def mute(reader, writer):
        await asyncio.sleep(3)

    port = await raw_server(mute)
    outcome = await run_check(make_spec("tls", f"127.0.0.1:{port}", timeout_s=0.3))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TIMEOUT
    assert outcome.message == "timed out after 0.3s while performing the TLS handshake (phase tls)"
    assert outcome.phases.tls_ms > 200
