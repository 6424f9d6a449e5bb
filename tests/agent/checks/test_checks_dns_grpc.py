"""DNS check against a local dnslib server; gRPC health against grpc.aio."""

from __future__ import annotations

import pytest
import pytest_asyncio

from mometrics_agent.checks import run_check
from mometrics_agent.checks.base import ErrorClass

pytestmark = pytest.mark.asyncio

ZONE = """
www.example.test.    60 A     192.0.2.10
www.example.test.    60 A     192.0.2.11
www.example.test.    60 AAAA  2001:db8::10
alias.example.test.  60 CNAME www.example.test.
example.test.        60 MX    10 mail.example.test.
example.test.        60 MX    20 backup.example.test.
example.test.        60 TXT   "v=spf1 -all"
example.test.        60 NS    ns1.example.test.
empty.example.test.  60 TXT   "only text here"
"""

BIG_TXT = "big.example.test. 60 TXT " + " ".join(f'"{"x" * 200}{i}"' for i in range(8))
BIG_TEXT = "".join(f"{'x' * 200}{i}" for i in range(8))  # TXT strings of one record join


@pytest_asyncio.fixture
async def zone(dns_server):
    return await dns_server(ZONE + BIG_TXT)


def resolver(port: int) -> str:
    return f"127.0.0.1:{port}"


async def test_a_record_any_of(zone, make_spec, sane):
    server, port = zone
    outcome = await run_check(
        make_spec(
            "dns",
            "www.example.test",
            resolver=resolver(port),
            expected_answers=["192.0.2.11", "198.51.100.1"],
        )
    )
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.dns_ms > 0
    assert server.udp_queries == 1 and server.tcp_queries == 0


async def test_a_record_mismatch(zone, make_spec, sane):
    _, port = zone
    outcome = await run_check(
        make_spec(
            "dns", "www.example.test", resolver=resolver(port), expected_answers=["198.51.100.1"]
        )
    )
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "expected A any of [198.51.100.1], got [192.0.2.10, 192.0.2.11]"


async def test_all_of_and_exact(zone, make_spec):
    _, port = zone
    both = ["192.0.2.10", "192.0.2.11"]
    assert (
        await run_check(
            make_spec(
                "dns",
                "www.example.test",
                resolver=resolver(port),
                expected_answers=both,
                match="all",
            )
        )
    ).is_up
    outcome = await run_check(
        make_spec(
            "dns",
            "www.example.test",
            resolver=resolver(port),
            expected_answers=["192.0.2.10", "192.0.2.99"],
            match="all",
        )
    )
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "all of" in outcome.message
    assert (
        await run_check(
            make_spec(
                "dns",
                "www.example.test",
                resolver=resolver(port),
                expected_answers=both,
                match="exact",
            )
        )
    ).is_up
    outcome = await run_check(
        make_spec(
            "dns",
            "www.example.test",
            resolver=resolver(port),
            expected_answers=["192.0.2.10"],
            match="exact",
        )
    )
    assert outcome.error_class == ErrorClass.ASSERTION


async def test_other_record_types(zone, make_spec, sane):
    _, port = zone
    cases = [
        ("www.example.test", "AAAA", ["2001:db8:0::10"]),
        ("alias.example.test", "CNAME", ["WWW.example.test."]),
        ("alias.example.test", "A", ["192.0.2.10"]),  # through the CNAME
        ("example.test", "MX", ["10 mail.example.test"]),
        ("example.test", "MX", ["backup.example.test"]),
        ("example.test", "TXT", ["v=spf1 -all"]),
        ("example.test", "NS", ["ns1.example.test"]),
    ]
    for name, rtype, expected in cases:
        outcome = await run_check(
            make_spec(
                "dns", name, resolver=resolver(port), record_type=rtype, expected_answers=expected
            )
        )
        sane(outcome)
        assert outcome.is_up, (name, rtype, outcome)


async def test_nxdomain(zone, make_spec, sane):
    _, port = zone
    outcome = await run_check(make_spec("dns", "nope.example.test", resolver=resolver(port)))
    sane(outcome)
    assert outcome.error_class == ErrorClass.DNS
    assert outcome.message == f"nope.example.test does not exist (NXDOMAIN from 127.0.0.1:{port})"
    outcome = await run_check(
        make_spec("dns", "nope.example.test", resolver=resolver(port), expected_rcode="NXDOMAIN")
    )
    assert outcome.is_up, outcome
    outcome = await run_check(
        make_spec("dns", "www.example.test", resolver=resolver(port), expected_rcode="NXDOMAIN")
    )
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "expected rcode NXDOMAIN, got NOERROR"


async def test_empty_answer(zone, make_spec, sane):
    _, port = zone
    outcome = await run_check(
        make_spec("dns", "empty.example.test", resolver=resolver(port), record_type="A")
    )
    sane(outcome)
    assert outcome.error_class == ErrorClass.DNS
    assert outcome.message.startswith("no A records for empty.example.test")


async def test_truncated_udp_falls_back_to_tcp(zone, make_spec, sane):
    server, port = zone
    outcome = await run_check(
        make_spec(
            "dns",
            "big.example.test",
            resolver=resolver(port),
            record_type="TXT",
            expected_answers=[BIG_TEXT],
        )
    )
    sane(outcome)
    assert outcome.is_up, outcome
    assert server.udp_queries == 1 and server.tcp_queries == 1


async def test_silent_resolver_times_out_in_dns(dns_server, make_spec, sane):
    server, port = await dns_server(ZONE, silent=True)
    outcome = await run_check(
        make_spec("dns", "www.example.test", resolver=resolver(port), timeout_s=1.5)
    )
    sane(outcome)
    assert outcome.error_class == ErrorClass.TIMEOUT
    assert outcome.message == "timed out after 1.5s while resolving the name (phase dns)"
    assert server.udp_queries == 2  # sent, then resent after 1 s
    assert outcome.phases.dns_ms > 1400


async def test_resolver_refused_port(make_spec, closed_port, sane):
    outcome = await run_check(
        make_spec("dns", "www.example.test", resolver=f"127.0.0.1:{closed_port}", timeout_s=2)
    )
    sane(outcome)
    # Port unreachable comes back as a refused connection on the UDP socket.
    assert outcome.error_class in (ErrorClass.CONNECT, ErrorClass.TIMEOUT)


async def test_resolver_over_ipv6(dns_server, make_spec, sane, ipv6_loopback):
    _, port = await dns_server(ZONE, host="::1")
    outcome = await run_check(
        make_spec(
            "dns", "www.example.test", resolver=f"[::1]:{port}", expected_answers=["192.0.2.10"]
        )
    )
    sane(outcome)
    assert outcome.is_up, outcome


async def test_private_resolver_blocked(zone, make_spec, sane):
    _, port = zone
    outcome = await run_check(
        make_spec("dns", "www.example.test", resolver=resolver(port), blocked=True)
    )
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT
    assert "127.0.0.1" in outcome.message


async def test_bad_dns_options(make_spec):
    outcome = await run_check(make_spec("dns", "example.test", record_type="BOGUS"))
    assert outcome.error_class == ErrorClass.INTERNAL
    outcome = await run_check(
        make_spec("dns", "example.test", record_type="A", expected_answers=["not-an-ip"])
    )
    assert outcome.error_class == ErrorClass.INTERNAL


# --- gRPC health ------------------------------------------------------------------


async def test_grpc_serving(grpc_server, make_spec, sane):
    _, port = await grpc_server()
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}"))
    sane(outcome)
    assert outcome.is_up, outcome
    assert outcome.phases.connect_ms > 0
    assert outcome.phases.first_byte_ms > 0


async def test_grpc_not_serving_and_unknown_service(grpc_server, make_spec, sane):
    from grpc_health.v1 import health_pb2

    servicer, port = await grpc_server()
    await servicer.set("orders", health_pb2.HealthCheckResponse.NOT_SERVING)
    await servicer.set("billing", health_pb2.HealthCheckResponse.SERVING)
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", service="orders"))
    sane(outcome)
    assert outcome.error_class == ErrorClass.ASSERTION
    assert outcome.message == "expected service 'orders' SERVING, got NOT_SERVING"
    assert (await run_check(make_spec("grpc", f"127.0.0.1:{port}", service="billing"))).is_up
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", service="nope"))
    assert outcome.error_class == ErrorClass.ASSERTION
    assert "NOT_FOUND" in outcome.message
    await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}"))
    assert outcome.message == "expected server SERVING, got NOT_SERVING"


async def test_grpc_tls(grpc_server, ca_pem, make_spec, sane):
    _, port = await grpc_server(tls=True)
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", tls=True, ca_pem=ca_pem))
    sane(outcome)
    assert outcome.is_up, outcome
    outcome = await run_check(make_spec("grpc", f"localhost:{port}", tls=True, ca_pem=ca_pem))
    assert outcome.is_up, outcome
    assert outcome.phases.dns_ms > 0
    # Plaintext against a TLS server, and TLS with an untrusted root.
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", timeout_s=2))
    assert not outcome.is_up
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", tls=True, timeout_s=2))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS, outcome


async def test_grpc_self_signed_needs_verify_off(grpc_server, make_spec, sane):
    _, port = await grpc_server(self_signed=True)
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", tls=True, timeout_s=2))
    sane(outcome)
    assert outcome.error_class == ErrorClass.TLS, outcome
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{port}", tls=True, verify_tls=False))
    sane(outcome)
    assert outcome.is_up, outcome


async def test_grpc_refused(make_spec, closed_port, sane):
    outcome = await run_check(make_spec("grpc", f"127.0.0.1:{closed_port}", timeout_s=2))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT, outcome
    assert f"127.0.0.1:{closed_port}" in outcome.message


async def test_grpc_blocked(make_spec, sane):
    outcome = await run_check(make_spec("grpc", "127.0.0.1:50051", blocked=True))
    sane(outcome)
    assert outcome.error_class == ErrorClass.CONNECT
    assert "loopback" in outcome.message
