"""Resolve-and-connect for the socket-level checks (tcp, tls, grpc)."""

from __future__ import annotations

import socket

import aiohappyeyeballs
from aiohappyeyeballs import AddrInfoType

from mometrics_agent.checks import netpolicy
from mometrics_agent.checks._common import CheckFailure, Recorder, format_host_port, oserror_text
from mometrics_agent.checks.base import ErrorClass

# RFC 8305 "Connection Attempt Delay", as aiohttp uses it.
HAPPY_EYEBALLS_DELAY = 0.25


async def resolve(
    host: str, port: int, rec: Recorder, *, block_private: bool, prefer: str
) -> list[str]:
    """Vetted addresses for ``host``; times the DNS phase for names."""
    if netpolicy.parse_ip(host) is None:
        rec.switch("dns")
    try:
        addresses = await netpolicy.resolve(host, port, block_private=block_private, prefer=prefer)
    except netpolicy.BlockedAddressError as exc:
        raise CheckFailure(ErrorClass.CONNECT, exc.message) from None
    except (socket.gaierror, UnicodeError) as exc:
        raise CheckFailure(
            ErrorClass.DNS, f"could not resolve {host!r}: {_gai_text(exc)}"
        ) from None
    finally:
        if rec.phase == "dns":
            rec.switch(None)
    return addresses


def _gai_text(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror) and len(exc.args) >= 2:
        return str(exc.args[1]).lower()
    return str(exc) or type(exc).__name__


def addr_infos(addresses: list[str], port: int) -> list[AddrInfoType]:
    infos: list[AddrInfoType] = []
    for address in addresses:
        if ":" in address:
            infos.append(
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
            )
        else:
            infos.append(
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
            )
    return infos


async def connect(
    host: str, port: int, addresses: list[str], rec: Recorder, *, prefer: str
) -> socket.socket:
    """A connected TCP socket to the first address that answers.

    With no family preference, Happy Eyeballs races the addresses; with one,
    they are tried in order (preferred family first) and the other family is
    the fallback.
    """
    rec.switch("connect")
    delay = HAPPY_EYEBALLS_DELAY if prefer == "any" else None
    try:
        sock = await aiohappyeyeballs.start_connection(
            addr_infos(addresses, port), happy_eyeballs_delay=delay, interleave=1 if delay else None
        )
    except OSError as exc:
        raise CheckFailure(
            ErrorClass.CONNECT,
            f"could not connect to {_where(host, port, addresses)}: {oserror_text(exc)}",
        ) from None
    rec.switch(None)
    return sock


def _where(host: str, port: int, addresses: list[str]) -> str:
    target = format_host_port(host, port)
    if len(addresses) == 1 and addresses[0] != host:
        return f"{target} ({addresses[0]})"
    return target
