"""The private-address policy, without the network."""

from __future__ import annotations

import asyncio

import pytest

from mometrics_agent.checks import netpolicy
from mometrics_agent.checks._common import OptionError, Recorder, parse_host_port


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private (shared CGNAT space)"),
        ("fd12:3456::1", "private (unique local)"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.1", "reserved (documentation)"),
        ("2001:db8::1", "reserved (documentation)"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("::ffff:10.0.0.1", "private, IPv4-mapped 10.0.0.1"),
        ("64:ff9b::7f00:1", "loopback, NAT64 of 127.0.0.1"),
        ("2002:a9fe:a9fe::1", "cloud metadata, 6to4 of 169.254.169.254"),
        ("2001::1", "reserved"),
        ("4000::1", "reserved"),
    ],
)
def test_blocked(address, reason):
    assert netpolicy.blocked_reason(address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::6810:84e5",
        "64:ff9b::808:808",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
    ],
)
def test_allowed(address):
    assert netpolicy.blocked_reason(address) is None


def test_vet_drops_blocked_and_orders_by_family():
    mixed = ["::1", "2606:4700::1", "10.0.0.1", "93.184.216.34"]
    assert netpolicy.vet("h", mixed, block_private=True) == ["2606:4700::1", "93.184.216.34"]
    assert netpolicy.vet("h", mixed, block_private=True, prefer="ipv4") == [
        "93.184.216.34",
        "2606:4700::1",
    ]
    assert netpolicy.vet("h", mixed, block_private=False) == mixed
    with pytest.raises(netpolicy.BlockedAddressError) as info:
        netpolicy.vet("intranet.example", ["10.0.0.1", "::1"], block_private=True)
    assert (
        "intranet.example resolves only to blocked addresses: 10.0.0.1 (private), ::1 (loopback)"
        in str(info.value)
    )


def test_policy_resolver_filters(monkeypatch):
    async def fake_lookup(host: str, port: int = 0) -> list[str]:
        return ["127.0.0.1", "93.184.216.34"]

    monkeypatch.setattr(netpolicy, "lookup", fake_lookup)
    resolver = netpolicy.PolicyResolver(block_private=True)
    results = asyncio.run(resolver.resolve("mixed.example", 443))
    assert [r["host"] for r in results] == ["93.184.216.34"]
    assert results[0]["port"] == 443


def test_parse_host_port():
    assert parse_host_port("example.com:443") == ("example.com", 443)
    assert parse_host_port("[::1]:53") == ("::1", 53)
    assert parse_host_port("::1", default_port=53) == ("::1", 53)
    assert parse_host_port("example.com", default_port=443) == ("example.com", 443)
    for bad in ("example.com", "example.com:0", "example.com:x", "[::1", ":80"):
        with pytest.raises(OptionError):
            parse_host_port(bad)


def test_recorder_phases_are_disjoint():
    rec = Recorder(10)
    rec.switch("dns")
    rec.switch("connect")
    rec.switch(None)
    rec.switch("transfer")
    outcome = rec.ok()
    p = outcome.phases
    assert p.dns_ms + p.connect_ms + p.transfer_ms <= outcome.latency_ms
    assert rec.phase is None
