"""TCP check: connect, optionally send a line and wait for an expected reply.

Target: ``host:port`` (``[v6]:port`` for IPv6 literals).

Options:

``send``            string sent (UTF-8) once connected, e.g. ``"PING\\r\\n"``.
``expect``          substring that must arrive (bytes compared after UTF-8
                    encoding); reading continues until it is seen, the peer
                    closes, ``max_read_bytes`` arrive, or the check times out.
``max_read_bytes``  default 65536.
``ip_family``       ``"any"`` (default), ``"ipv4"`` or ``"ipv6"`` preference.

Phases: dns (names only), connect, first_byte (from connected, send included,
to the first byte; only when ``expect`` is set) and transfer (first byte to
the expected text).
"""

from __future__ import annotations

import asyncio
import contextlib

from mometrics_agent.checks import _net
from mometrics_agent.checks._common import (
    CheckFailure,
    Recorder,
    opt_choice,
    opt_int,
    opt_str,
    oserror_text,
    parse_host_port,
    snippet,
)
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    options = spec.options
    send = opt_str(options, "send")
    expect = opt_str(options, "expect") or None
    max_read = opt_int(options, "max_read_bytes", 65536, minimum=1, maximum=16 * 1024 * 1024)
    prefer = opt_choice(options, "ip_family", ("any", "ipv4", "ipv6"), "any")
    host, port = parse_host_port(spec.target)

    rec.start()
    addresses = await _net.resolve(
        host, port, rec, block_private=spec.is_private_blocked, prefer=prefer
    )
    sock = await _net.connect(host, port, addresses, rec, prefer=prefer)
    reader, writer = await asyncio.open_connection(sock=sock, limit=max_read + 1)
    try:
        return await _converse(reader, writer, send, expect, max_read, rec)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _converse(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    send: str | None,
    expect: str | None,
    max_read: int,
    rec: Recorder,
) -> CheckOutcome:
    if expect:
        rec.switch("first_byte")
    try:
        if send:
            rec.activity = "sending"
            writer.write(send.encode("utf-8"))
            await writer.drain()
        if not expect:
            return rec.ok()
        wanted = expect.encode("utf-8")
        received = bytearray()
        while True:
            chunk = await reader.read(max_read)
            if not chunk:
                after = f"after {snippet(bytes(received))}" if received else "without data"
                raise CheckFailure(
                    ErrorClass.ASSERTION, f"expected {expect!r}, but the connection closed {after}"
                )
            if rec.phase == "first_byte":
                rec.switch("transfer")
            received += chunk
            if wanted in received:
                return rec.ok()
            if len(received) >= max_read:
                got = snippet(bytes(received))
                raise CheckFailure(
                    ErrorClass.ASSERTION,
                    f"expected {expect!r} in the first {max_read} bytes, got {got}",
                )
    except OSError as exc:
        raise CheckFailure(
            ErrorClass.PROTOCOL, f"connection failed after connecting: {oserror_text(exc)}"
        ) from None
