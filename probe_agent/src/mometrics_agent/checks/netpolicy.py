"""Which addresses a check may connect to.

Agents are shared: without a policy a monitor could point the agent at its
own network (loopback services, the VPC, the cloud metadata endpoint) and
read the answers back through check results. When
``CheckSpec.is_private_blocked`` is set, every address a check would use is
vetted *after* DNS resolution:

* ``resolve()`` (and ``PolicyResolver``, its aiohttp face) looks a name up,
  drops the blocked addresses and orders the rest by the family preference.
  If nothing is left the check fails, naming the blocked addresses. Because
  the vetted addresses are the ones connected to, there is no window for
  DNS rebinding between the check and the connection.
* IP literals go through the same test.
* The HTTP check repeats this for every redirect hop, and its connector checks
  the exact addresses it is about to open a socket to.

Blocked: unspecified, loopback, private (RFC 1918, shared CGNAT space,
unique-local IPv6, deprecated site-local), link-local, multicast, reserved
(documentation, benchmarking, IETF protocol space, class E, broadcast, any
IPv6 outside 2000::/3) and known cloud metadata addresses. IPv6 forms that
embed an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4) are judged by
the embedded address.

A rejected target fails with ``ErrorClass.CONNECT``: the agent declined to
open the connection, which is what users see as "could not connect", and the
message says why and names the address.

Host names are resolved with the system resolver (``getaddrinfo``: /etc/hosts,
nsswitch, resolv.conf, as curl does) on a dedicated thread pool, so slow DNS
never starves the event loop's default executor and nothing is cached in
the agent: every check measures a real lookup.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Cloud metadata and host-agent endpoints. Most sit in ranges that are
# blocked anyway; they are listed so the message says what they are, and
# the public ones (Azure's wire server) are blocked only because of this list.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud (legacy)
    )
)

_BLOCKED_V4: tuple[tuple[_V4, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "private (shared CGNAT space)"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", "multicast"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved (documentation)"),
        ("198.51.100.0/24", "reserved (documentation)"),
        ("203.0.113.0/24", "reserved (documentation)"),
        ("192.88.99.0/24", "reserved"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("240.0.0.0/4", "reserved"),
    )
)

_BLOCKED_V6: tuple[tuple[_V6, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "reserved (IPv4-compatible)"),
        ("64:ff9b:1::/48", "private (local NAT64)"),
        ("100::/64", "reserved (discard)"),
        ("2001::/23", "reserved"),
        ("2001:db8::/32", "reserved (documentation)"),
        ("3fff::/20", "reserved (documentation)"),
        ("fc00::/7", "private (unique local)"),
        ("fec0::/10", "private (site-local)"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


class BlockedAddressError(Exception):
    """Every address of a target is one the policy forbids.

    Deliberately not an OSError, so that aiohttp passes it through instead
    of dressing it up as a DNS failure.
    """

    def __init__(self, host: str, blocked: Sequence[tuple[str, str]]) -> None:
        self.host = host
        self.blocked = list(blocked)
        shown = ", ".join(f"{addr} ({reason})" for addr, reason in self.blocked[:4])
        if len(self.blocked) > 4:
            shown += f" and {len(self.blocked) - 4} more"
        if len(self.blocked) == 1 and _strip_brackets(host) == self.blocked[0][0]:
            message = (
                f"address {shown} is not allowed: private targets are blocked for this monitor"
            )
        else:
            message = (
                f"{host} resolves only to blocked addresses: {shown}; "
                "private targets are blocked for this monitor"
            )
        super().__init__(message)
        self.message = message


def _strip_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def parse_ip(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal (brackets and zone allowed)."""
    try:
        return ipaddress.ip_address(_strip_brackets(host))
    except ValueError:
        return None


def blocked_reason(address: IPAddress | str) -> str | None:
    """Why the address may not be probed, or None if it may."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(ip.packed)
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip == ipaddress.IPv4Address("255.255.255.255"):
            return "broadcast"
        for net4, label in _BLOCKED_V4:
            if ip in net4:
                return label
        return None
    # IPv6 forms that carry an IPv4 address are judged by that address.
    if ip in _MAPPED:
        embedded = ipaddress.IPv4Address(ip.packed[-4:])
        inner = blocked_reason(embedded)
        return f"{inner}, IPv4-mapped {embedded}" if inner else None
    if ip in _NAT64:
        embedded = ipaddress.IPv4Address(ip.packed[-4:])
        inner = blocked_reason(embedded)
        return f"{inner}, NAT64 of {embedded}" if inner else None
    if ip.sixtofour is not None:
        inner = blocked_reason(ip.sixtofour)
        return f"{inner}, 6to4 of {ip.sixtofour}" if inner else None
    for net6, label in _BLOCKED_V6:
        if ip in net6:
            return label
    if ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    return None


def check_address(host: str, address: str, *, block_private: bool) -> None:
    """Raise BlockedAddressError if connecting to ``address`` is forbidden."""
    if not block_private:
        return
    ip = parse_ip(address)
    if ip is None:
        # Not numeric: never connect to something that was not vetted.
        raise BlockedAddressError(host, [(address, "not a numeric address")])
    reason = blocked_reason(ip)
    if reason is not None:
        raise BlockedAddressError(host, [(str(ip), reason)])


def order_by_family(addresses: Iterable[str], prefer: str) -> list[str]:
    """Stable-sort addresses so the preferred family ("ipv4"/"ipv6") comes first."""
    addresses = list(addresses)
    if prefer == "ipv4":
        return sorted(addresses, key=lambda a: ":" in a)
    if prefer == "ipv6":
        return sorted(addresses, key=lambda a: ":" not in a)
    return addresses


def vet(
    host: str, addresses: Iterable[str], *, block_private: bool, prefer: str = "any"
) -> list[str]:
    """Drop blocked addresses and order the rest; raise if none are left."""
    allowed: list[str] = []
    blocked: list[tuple[str, str]] = []
    for address in addresses:
        ip = parse_ip(address)
        reason = None
        if block_private:
            reason = "not a numeric address" if ip is None else blocked_reason(ip)
        if reason is None:
            allowed.append(address)
        else:
            blocked.append((address, reason))
    if not allowed:
        if blocked:
            raise BlockedAddressError(host, blocked)
        raise socket.gaierror(socket.EAI_NONAME, "no addresses")
    return order_by_family(allowed, prefer)


# --- resolution ---------------------------------------------------------------

_EXECUTOR: concurrent.futures.ThreadPoolExecutor | None = None
_AI_FLAGS = socket.AI_ADDRCONFIG


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = concurrent.futures.ThreadPoolExecutor(
            max_workers=64, thread_name_prefix="mometrics-dns"
        )
    return _EXECUTOR


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, _AI_FLAGS)
    seen: dict[str, None] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        if family == socket.AF_INET:
            seen.setdefault(str(sockaddr[0]), None)
        elif family == socket.AF_INET6 and len(sockaddr) >= 4:
            address = str(sockaddr[0])
            if sockaddr[3] and "%" not in address:
                address = f"{address}%{sockaddr[3]}"
            seen.setdefault(address, None)
    return list(seen)


async def lookup(host: str, port: int = 0) -> list[str]:
    """All addresses of a name, in the order getaddrinfo gives them.

    Raises socket.gaierror when the name does not resolve.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(_getaddrinfo, host, port))


async def resolve(host: str, port: int, *, block_private: bool, prefer: str = "any") -> list[str]:
    """Addresses a check may connect to for ``host``, best first.

    Raises BlockedAddressError if the policy leaves none, socket.gaierror if
    the name does not resolve.
    """
    ip = parse_ip(host)
    if ip is not None:
        return vet(host, [str(ip)], block_private=block_private, prefer=prefer)
    return vet(host, await lookup(host, port), block_private=block_private, prefer=prefer)


class PolicyResolver(AbstractResolver):
    """aiohttp resolver that only ever returns addresses the policy allows."""

    def __init__(self, *, block_private: bool, prefer: str = "any") -> None:
        self.block_private = block_private
        self.prefer = prefer

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        addresses = await resolve(host, port, block_private=self.block_private, prefer=self.prefer)
        results: list[ResolveResult] = []
        for address in addresses:
            addr_family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family not in (0, socket.AF_UNSPEC) and family != addr_family:
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=addr_family,
                    proto=0,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
        return results

    async def close(self) -> None:
        return None
