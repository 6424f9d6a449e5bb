"""The rule that monitors may not aim at internal addresses.

Loopback, private, link-local, multicast, reserved and cloud metadata
addresses are rejected unless MOMETRICS_ALLOW_PRIVATE_TARGETS is on. The API
checks at creation; the agent checks again after DNS and on every redirect,
since a name can resolve differently later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

# Metadata services of cloud providers that are not already link-local.
_METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254")}


def is_internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _METADATA_ADDRESSES
    )


async def find_internal_address(host: str, timeout_s: float = 3.0) -> str | None:
    """Return an internal address that `host` is or resolves to, else None.

    A name that does not resolve returns None: the agent reports it as a
    DNS failure when it checks.
    """
    host = host.strip("[]")
    try:
        return host if is_internal_address(host) else None
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return host
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, TimeoutError):
        return None
    for info in infos:
        address = str(info[4][0])
        if is_internal_address(address):
            return address
    return None
