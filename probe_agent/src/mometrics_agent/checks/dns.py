"""DNS check: one query to a resolver, judged on its rcode and answers.

Target: the name to look up.

Options:

``record_type``       A (default), AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR,
                      CAA, ... (any type dnslib knows).
``resolver``          ``"host:port"`` or ``"host"`` (port 53) of the server to
                      ask; default: the first nameserver in /etc/resolv.conf.
                      A configured resolver is subject to the private-address
                      policy; the system resolver is not (it is the agent's
                      own configuration).
``expected_answers``  list of answers (or one string). A/AAAA compare as
                      addresses, names case-insensitively without the final
                      dot; MX as ``"10 mail.example.com"`` or just the host;
                      TXT as the concatenated text; SRV as
                      ``"priority weight port target"``.
``match``             ``"any"`` (default: at least one expected answer is
                      present), ``"all"`` (every expected answer is present)
                      or ``"exact"`` (the answers are exactly the expected set).
``expected_rcode``    default ``"NOERROR"``; e.g. ``"NXDOMAIN"`` to assert a
                      name does not exist.
``recursion_desired`` default true.

The query goes over UDP (EDNS0, 1232-byte buffer) and is resent at growing
intervals until the check's timeout; a truncated answer is asked again over
TCP. Responses are accepted only if their id and question match. With the
default rcode, an empty answer of the requested type is a failure.

Phases: the whole exchange (including a TCP retry) is ``dns_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import struct
from pathlib import Path
from typing import Any

import dnslib

from mometrics_agent.checks import netpolicy
from mometrics_agent.checks._common import (
    CheckFailure,
    OptionError,
    Recorder,
    format_host_port,
    opt_bool,
    opt_choice,
    opt_str,
    oserror_text,
    parse_host_port,
)
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass

RESOLV_CONF = Path("/etc/resolv.conf")
_EDNS_UDP_SIZE = 1232
_FIRST_RETRANSMIT_S = 1.0
_NAME_TYPES = frozenset({"CNAME", "NS", "PTR", "DNAME"})


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    options = spec.options
    name = spec.target.strip()
    if not name or len(name) > 253:
        raise OptionError("target must be a DNS name")
    record_type = (opt_str(options, "record_type", "A") or "A").upper()
    qtype = dnslib.QTYPE.reverse.get(record_type)
    if qtype is None:
        raise OptionError(f"record_type {record_type!r} is not a DNS record type")
    expected_rcode = (opt_str(options, "expected_rcode", "NOERROR") or "NOERROR").upper()
    if expected_rcode not in dnslib.RCODE.reverse:
        raise OptionError(f"expected_rcode {expected_rcode!r} is not a DNS rcode")
    match = opt_choice(options, "match", ("any", "all", "exact"), "any")
    raw_expected = options.get("expected_answers")
    if isinstance(raw_expected, str):
        raw_expected = [raw_expected]
    if raw_expected is not None and (
        not isinstance(raw_expected, list) or not all(isinstance(x, str) for x in raw_expected)
    ):
        raise OptionError("expected_answers must be a list of strings")
    expected = [_normalize_expected(record_type, x) for x in raw_expected or []]
    recursion = opt_bool(options, "recursion_desired", True)

    server, port = await _server(opt_str(options, "resolver"), spec.is_private_blocked)
    where = format_host_port(server, port)

    try:
        query = dnslib.DNSRecord(
            dnslib.DNSHeader(id=secrets.randbelow(65536), rd=int(recursion)),
            q=dnslib.DNSQuestion(name, qtype),
        )
        query.add_ar(dnslib.EDNS0(udp_len=_EDNS_UDP_SIZE))
        packet = query.pack()
    except (dnslib.DNSError, ValueError, UnicodeError) as exc:
        raise OptionError(f"target {name!r} is not a valid DNS name ({exc})") from None

    rec.start()
    rec.switch("dns")
    try:
        response = await _query_udp(packet, query, server, port)
        if response.header.tc:
            rec.activity = "retrying over TCP"
            response = await _query_tcp(packet, query, server, port)
    except OSError as exc:
        raise CheckFailure(
            ErrorClass.CONNECT, f"could not query resolver {where}: {oserror_text(exc)}"
        ) from None
    rec.switch(None)
    return _judge(rec, response, name, record_type, qtype, expected, match, expected_rcode, where)


def _judge(
    rec: Recorder,
    response: dnslib.DNSRecord,
    name: str,
    record_type: str,
    qtype: int,
    expected: list[str],
    match: str,
    expected_rcode: str,
    where: str,
) -> CheckOutcome:
    rcode = dnslib.RCODE.get(response.header.rcode, str(response.header.rcode))
    display = name.rstrip(".")
    if rcode != expected_rcode:
        if rcode == "NXDOMAIN":
            return rec.fail(ErrorClass.DNS, f"{display} does not exist (NXDOMAIN from {where})")
        if expected_rcode != "NOERROR" and rcode == "NOERROR":
            return rec.fail(ErrorClass.ASSERTION, f"expected rcode {expected_rcode}, got NOERROR")
        return rec.fail(
            ErrorClass.DNS, f"resolver {where} answered {rcode} for {display} {record_type}"
        )

    answers = [_format_answer(rr) for rr in response.rr if rr.rtype == qtype]
    if not expected:
        if answers or expected_rcode != "NOERROR":
            return rec.ok()
        return rec.fail(
            ErrorClass.DNS, f"no {record_type} records for {display} (empty answer from {where})"
        )

    present = [e for e in expected if _matches(record_type, e, answers)]
    if match == "any":
        ok = bool(present)
    elif match == "all":
        ok = len(present) == len(expected)
    else:
        ok = len(present) == len(expected) and all(
            any(_matches(record_type, e, [a]) for e in expected) for a in answers
        )
    if ok:
        return rec.ok()
    wanted = {"any": "any of", "all": "all of", "exact": "exactly"}[match]
    got = f"[{_shorten(answers)}]" if answers else f"no {record_type} records"
    return rec.fail(
        ErrorClass.ASSERTION,
        f"expected {record_type} {wanted} [{_shorten(expected, 4)}], got {got}",
    )


def _shorten(answers: list[str], limit: int = 8) -> str:
    shown = ", ".join(a if len(a) <= 80 else a[:77] + "..." for a in answers[:limit])
    return shown + (f", ... ({len(answers)} in all)" if len(answers) > limit else "")


def _format_answer(rr: dnslib.RR) -> str:
    rdata: Any = rr.rdata
    rtype = dnslib.QTYPE.get(rr.rtype, "")
    if rtype in ("A", "AAAA"):
        return str(ipaddress.ip_address(str(rdata)))
    if rtype in _NAME_TYPES:
        return _name(str(rdata.label))
    if rtype == "MX":
        return f"{rdata.preference} {_name(str(rdata.label))}"
    if rtype == "SRV":
        return f"{rdata.priority} {rdata.weight} {rdata.port} {_name(str(rdata.target))}"
    if rtype == "TXT":
        return "".join(part.decode("utf-8", "replace") for part in rdata.data)
    return str(rdata)


def _name(text: str) -> str:
    return text.rstrip(".").lower()


def _normalize_expected(record_type: str, value: str) -> str:
    value = value.strip()
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise OptionError(f"expected answer {value!r} is not an IP address") from None
    if record_type in _NAME_TYPES:
        return _name(value)
    if record_type in ("MX", "SRV"):
        parts = value.split()
        return " ".join([*parts[:-1], _name(parts[-1])]) if parts else value
    if record_type == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _matches(record_type: str, expected: str, answers: list[str]) -> bool:
    if record_type == "MX" and " " not in expected:
        return any(a.split(" ", 1)[-1] == expected for a in answers)
    return expected in answers


# --- transport -----------------------------------------------------------------


async def _server(option: str | None, block_private: bool) -> tuple[str, int]:
    if option:
        host, port = parse_host_port(option, default_port=53)
        try:
            addresses = await netpolicy.resolve(host, port, block_private=block_private)
        except netpolicy.BlockedAddressError as exc:
            raise CheckFailure(ErrorClass.CONNECT, exc.message) from None
        except OSError as exc:
            raise CheckFailure(
                ErrorClass.DNS, f"could not resolve resolver {host!r}: {oserror_text(exc)}"
            ) from None
        return addresses[0], port
    return system_resolver(), 53


def system_resolver(path: Path = RESOLV_CONF) -> str:
    """The first nameserver of resolv.conf; glibc's default when there is none."""
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "nameserver" and netpolicy.parse_ip(fields[1]):
                return fields[1]
    return "127.0.0.1"


def _accept(data: bytes, query: dnslib.DNSRecord) -> dnslib.DNSRecord | None:
    """The parsed response if it answers ``query``; None for stray packets."""
    if len(data) < 12 or struct.unpack("!H", data[:2])[0] != query.header.id:
        return None
    try:
        response = dnslib.DNSRecord.parse(data)
    except (dnslib.DNSError, ValueError, IndexError, struct.error):
        raise CheckFailure(ErrorClass.PROTOCOL, "malformed DNS response") from None
    if not response.header.qr:
        return None
    if response.questions and (
        response.questions[0].qtype != query.q.qtype
        or str(response.questions[0].qname).lower() != str(query.q.qname).lower()
    ):
        raise CheckFailure(ErrorClass.PROTOCOL, "DNS response is for another question")
    return response


class _UdpExchange(asyncio.DatagramProtocol):
    def __init__(self, query: dnslib.DNSRecord) -> None:
        self.query = query
        self.answer: asyncio.Future[dnslib.DNSRecord] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.answer.done():
            return
        try:
            response = _accept(data, self.query)
        except CheckFailure as failure:
            self.answer.set_exception(failure)
            return
        if response is not None:
            self.answer.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors such as port unreachable arrive here.
        if not self.answer.done():
            self.answer.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc or ConnectionError("socket closed"))


async def _query_udp(
    packet: bytes, query: dnslib.DNSRecord, server: str, port: int
) -> dnslib.DNSRecord:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _UdpExchange(query), remote_addr=(server, port)
    )
    try:
        interval = _FIRST_RETRANSMIT_S
        while True:
            transport.sendto(packet)
            done, _ = await asyncio.wait({protocol.answer}, timeout=interval)
            if done:
                return protocol.answer.result()
            interval *= 2  # the check's timeout ends this loop
    finally:
        transport.close()
        if not protocol.answer.done():
            protocol.answer.cancel()
        elif not protocol.answer.cancelled():
            protocol.answer.exception()  # mark retrieved


async def _query_tcp(
    packet: bytes, query: dnslib.DNSRecord, server: str, port: int
) -> dnslib.DNSRecord:
    reader, writer = await asyncio.open_connection(server, port)
    try:
        writer.write(struct.pack("!H", len(packet)) + packet)
        await writer.drain()
        while True:
            try:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                data = await reader.readexactly(length)
            except asyncio.IncompleteReadError:
                raise CheckFailure(
                    ErrorClass.PROTOCOL, "resolver closed the TCP connection before answering"
                ) from None
            response = _accept(data, query)
            if response is not None:
                return response
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
