"""gRPC health check: ``grpc.health.v1.Health/Check`` through grpc.aio.

Target: ``host:port``.

Options:

``service``      service name to ask about; default ``""`` (the whole server).
``tls``          default false (plaintext HTTP/2).
``server_name``  TLS name to verify (and authority to send); default the host.
``ca_pem``       PEM certificates to trust instead of gRPC's default roots.
``verify_tls``   default true. gRPC cannot turn verification off, so with
                 false the check first reads the certificate the server
                 presents (an extra, untimed handshake) and trusts exactly
                 that one for the call. This covers self-signed servers; a
                 certificate from a private CA needs ``ca_pem`` instead.
``metadata``     object of call metadata, e.g. ``{"authorization": "Bearer x"}``.
``ip_family``    ``"any"`` (default), ``"ipv4"`` or ``"ipv6"``.

Up only when the answer is SERVING. The name is resolved by the agent (and
vetted by the private-address policy); gRPC is handed the vetted addresses
with the original authority, so it never resolves on its own. Each check
uses its own channel and subchannel pool: nothing is shared across checks.

Phases: dns; connect is TCP connect, TLS and the HTTP/2 handshake together
(gRPC does not expose them apart); first_byte is the Check call.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mometrics_agent.checks import _net
from mometrics_agent.checks._common import (
    CheckFailure,
    OptionError,
    Recorder,
    format_host_port,
    opt_bool,
    opt_choice,
    opt_str,
    parse_host_port,
)
from mometrics_agent.checks._tlsutil import cert_info, client_context, describe_ssl_error, handshake
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass

_STATUS_NAMES = {v: k for k, v in health_pb2.HealthCheckResponse.ServingStatus.items()}
_TLS_WORDS = ("ssl", "tls", "handshake", "certificate", "verification")


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    options = spec.options
    service = opt_str(options, "service", "") or ""
    use_tls = opt_bool(options, "tls", False)
    server_name = (opt_str(options, "server_name") or "").rstrip(".") or None
    ca_pem = opt_str(options, "ca_pem") or None
    verify = opt_bool(options, "verify_tls", True)
    prefer = opt_choice(options, "ip_family", ("any", "ipv4", "ipv6"), "any")
    metadata = _metadata(options.get("metadata"))
    host, port = parse_host_port(spec.target)

    rec.start()
    addresses = await _net.resolve(
        host, port, rec, block_private=spec.is_private_blocked, prefer=prefer
    )
    channel_options: list[tuple[str, object]] = [
        ("grpc.default_authority", format_host_port(server_name or host, port)),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_http_proxy", 0),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", 64 * 1024),
    ]
    target = _channel_target(addresses, port)
    tls_name = server_name or host
    if use_tls:
        roots = ca_pem.encode() if ca_pem else None
        if not verify:
            roots, tls_name = await _presented_certificate(host, port, addresses, tls_name, prefer)
        channel_options.append(("grpc.ssl_target_name_override", tls_name))
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)
        channel = grpc.aio.secure_channel(target, credentials, options=channel_options)
    else:
        channel = grpc.aio.insecure_channel(target, options=channel_options)

    try:
        rec.switch("connect")
        state = channel.get_state(try_to_connect=True)
        while state not in (
            grpc.ChannelConnectivity.READY,
            grpc.ChannelConnectivity.TRANSIENT_FAILURE,
        ):
            await channel.wait_for_state_change(state)
            state = channel.get_state(try_to_connect=True)
        connected = state == grpc.ChannelConnectivity.READY

        # After a failed connect the call fails at once with gRPC's reason.
        rec.switch("first_byte")
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = await stub.Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=max(rec.remaining_s(), 0.001),
                metadata=metadata,
                wait_for_ready=False,
            )
        except grpc.aio.AioRpcError as err:
            raise _rpc_failure(err, service, connected, spec.target, tls_name) from None
        rec.switch(None)
    finally:
        await channel.close()

    if response.status == health_pb2.HealthCheckResponse.SERVING:
        return rec.ok()
    name = _STATUS_NAMES.get(response.status, str(response.status))
    what = f"service {service!r}" if service else "server"
    return rec.fail(ErrorClass.ASSERTION, f"expected {what} SERVING, got {name}")


async def _presented_certificate(
    host: str, port: int, addresses: list[str], name: str, prefer: str
) -> tuple[bytes, str]:
    """The server's certificate as a PEM trust root, and a name it is valid for."""
    scratch = Recorder()  # not part of the check's phases
    sock = await _net.connect(host, port, addresses, scratch, prefer=prefer)
    try:
        der = await handshake(sock, client_context(False), name)
    except (ssl.SSLError, OSError) as exc:
        raise CheckFailure(ErrorClass.TLS, describe_ssl_error(exc)) from None
    info = cert_info(der)
    if der is None or info is None:
        raise CheckFailure(ErrorClass.TLS, "the server sent no readable certificate")
    names = [n.lower() for n in info.dns_names]
    if names and name.lower() not in names and not any(_wildcard(n, name) for n in names):
        name = "probe." + names[0][2:] if names[0].startswith("*.") else names[0]
    return ssl.DER_cert_to_PEM_cert(der).encode(), name


def _wildcard(pattern: str, name: str) -> bool:
    return pattern.startswith("*.") and name.lower().partition(".")[2] == pattern[2:]


def _metadata(raw: object) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise OptionError("metadata must be an object of string to string")
    return tuple((k.lower(), v) for k, v in raw.items())


def _channel_target(addresses: list[str], port: int) -> str:
    """A gRPC target naming the vetted addresses of one family, best first."""
    if ":" in addresses[0]:
        same = [a for a in addresses if ":" in a]
        return "ipv6:" + ",".join(f"[{a}]:{port}" for a in same)
    same = [a for a in addresses if ":" not in a]
    return "ipv4:" + ",".join(f"{a}:{port}" for a in same)


def _details(err: grpc.aio.AioRpcError) -> str:
    """gRPC's reason without its wrapping, e.g. "connection refused"."""
    lines = (err.details() or "").strip().splitlines()
    text = lines[0] if lines else ""
    text = text.removeprefix("failed to connect to all addresses; last error: ")
    text = re.sub(r"^[A-Z_]+: (ipv[46]:\S+: )?", "", text)
    return (text[:1].lower() + text[1:])[:300]


def _tls_reason(details: str, name: str) -> str:
    if "hostname verification" in details.lower():
        return f"TLS certificate is not valid for {name!r}"
    if "CERTIFICATE_VERIFY_FAILED" in details:
        reason = details.split("CERTIFICATE_VERIFY_FAILED", 1)[1].strip(": ").removesuffix(": OK")
        return f"TLS certificate verification failed: {reason or 'untrusted'}"
    return f"TLS handshake failed: {details}"


def _rpc_failure(
    err: grpc.aio.AioRpcError, service: str, connected: bool, target: str, tls_name: str
) -> BaseException:
    code = err.code()
    details = _details(err)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return TimeoutError()
    if code == grpc.StatusCode.NOT_FOUND:
        return CheckFailure(
            ErrorClass.ASSERTION, f"health server does not know service {service!r} (NOT_FOUND)"
        )
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return CheckFailure(
            ErrorClass.PROTOCOL, "server does not implement grpc.health.v1.Health (UNIMPLEMENTED)"
        )
    if not connected and code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
        lowered = details.lower()
        if any(word in lowered for word in _TLS_WORDS):
            return CheckFailure(ErrorClass.TLS, _tls_reason(details, tls_name))
        return CheckFailure(
            ErrorClass.CONNECT, f"could not connect to {target}: {details or 'unavailable'}"
        )
    suffix = f": {details}" if details else ""
    return CheckFailure(ErrorClass.PROTOCOL, f"health check failed with {code.name}{suffix}")
