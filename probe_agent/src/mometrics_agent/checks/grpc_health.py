"""gRPC health check: ``grpc.health.v1.Health/Check`` through grpc.aio.

Target: ``host:port``.

Options:

``service``      service name to ask about; default ``""`` (the whole server).
``tls``          default false (plaintext HTTP/2).
``server_name``  TLS name to verify (and authority to send); default the host.
``ca_pem``       PEM certificates to trust instead of gRPC's default roots.
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
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass

_STATUS_NAMES = {v: k for k, v in health_pb2.HealthCheckResponse.ServingStatus.items()}
_TLS_WORDS = ("ssl", "tls", "handshake", "certificate")


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    options = spec.options
    service = opt_str(options, "service", "") or ""
    use_tls = opt_bool(options, "tls", False)
    server_name = (opt_str(options, "server_name") or "").rstrip(".") or None
    ca_pem = opt_str(options, "ca_pem") or None
    prefer = opt_choice(options, "ip_family", ("any", "ipv4", "ipv6"), "any")
    metadata = _metadata(options.get("metadata"))
    host, port = parse_host_port(spec.target)

    addresses = await _net.resolve(host, port, rec, block_private=spec.is_private_blocked, prefer=prefer)
    channel_options: list[tuple[str, object]] = [
        ("grpc.default_authority", format_host_port(server_name or host, port)),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_http_proxy", 0),
        ("grpc.enable_retries", 0),
        ("grpc.max_receive_message_length", 64 * 1024),
    ]
    target = _channel_target(addresses, port)
    if use_tls:
        channel_options.append(("grpc.ssl_target_name_override", server_name or host))
        credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem.encode() if ca_pem else None)
        channel = grpc.aio.secure_channel(target, credentials, options=channel_options)
    else:
        channel = grpc.aio.insecure_channel(target, options=channel_options)

    try:
        rec.switch("connect")
        state = channel.get_state(try_to_connect=True)
        while state not in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE):
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
            raise _rpc_failure(err, service, connected, spec.target) from None
        rec.switch(None)
    finally:
        await channel.close()

    if response.status == health_pb2.HealthCheckResponse.SERVING:
        return rec.ok()
    name = _STATUS_NAMES.get(response.status, str(response.status))
    what = f"service {service!r}" if service else "server"
    return rec.fail(ErrorClass.ASSERTION, f"expected {what} SERVING, got {name}")


def _metadata(raw: object) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
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
    text = (err.details() or "").strip().splitlines()
    return text[0][:200] if text else ""


def _rpc_failure(err: grpc.aio.AioRpcError, service: str, connected: bool, target: str) -> BaseException:
    code = err.code()
    details = _details(err)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return TimeoutError()
    if code == grpc.StatusCode.NOT_FOUND:
        return CheckFailure(ErrorClass.ASSERTION, f"health server does not know service {service!r} (NOT_FOUND)")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return CheckFailure(ErrorClass.PROTOCOL, "server does not implement grpc.health.v1.Health (UNIMPLEMENTED)")
    if code == grpc.StatusCode.UNAVAILABLE and not connected:
        lowered = details.lower()
        if any(word in lowered for word in _TLS_WORDS):
            return CheckFailure(ErrorClass.TLS, f"TLS with {target} failed: {details}")
        return CheckFailure(ErrorClass.CONNECT, f"could not connect to {target}: {details or 'unavailable'}")
    suffix = f": {details}" if details else ""
    return CheckFailure(ErrorClass.PROTOCOL, f"health check failed with {code.name}{suffix}")
