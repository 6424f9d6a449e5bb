"""TLS certificate check: handshake only, then judge the peer certificate.

Target: ``host:port`` (port defaults to 443).

Options:

``server_name``               SNI and the name the certificate must match
                              (default: the target host).
``verify_tls``                default true: the chain must be trusted and the
                              certificate must match the name. With false,
                              only the validity dates are judged.
``ca_pem``                    PEM certificates to trust instead of the system
                              store.
``cert_expiry_warning_days``  default 14: success carries a warning message
                              when the certificate expires within this time.
``ip_family``                 ``"any"`` (default), ``"ipv4"`` or ``"ipv6"``.

Fails (ErrorClass.TLS) when the handshake fails, the certificate is
expired, not yet valid, untrusted (self-signed, unknown issuer) or issued
for another name. ``cert_expires_at`` is reported even for an untrusted
certificate: after a verification failure the check makes a second,
unverified handshake to read it (not counted in the timings).
"""

from __future__ import annotations

import asyncio
import ssl
import time

from mometrics_agent.checks import _net
from mometrics_agent.checks._common import (
    CheckFailure,
    Recorder,
    opt_bool,
    opt_choice,
    opt_int,
    opt_str,
    oserror_text,
    parse_host_port,
)
from mometrics_agent.checks._tlsutil import (
    CertInfo,
    cert_info,
    client_context,
    describe_expiry,
    describe_ssl_error,
    describe_verify_error,
    handshake,
)
from mometrics_agent.checks.base import CheckOutcome, CheckSpec, ErrorClass


async def run(spec: CheckSpec, rec: Recorder) -> CheckOutcome:
    options = spec.options
    server_name = (opt_str(options, "server_name") or "").rstrip(".") or None
    verify = opt_bool(options, "verify_tls", True)
    ca_pem = opt_str(options, "ca_pem") or None
    warning_days = opt_int(options, "cert_expiry_warning_days", 14, maximum=3650)
    prefer = opt_choice(options, "ip_family", ("any", "ipv4", "ipv6"), "any")
    host, port = parse_host_port(spec.target, default_port=443)
    name = server_name or host
    context = client_context(verify, ca_pem)

    rec.start()
    addresses = await _net.resolve(
        host, port, rec, block_private=spec.is_private_blocked, prefer=prefer
    )
    sock = await _net.connect(host, port, addresses, rec, prefer=prefer)
    rec.switch("tls")
    try:
        der = await handshake(sock, context, name)
    except ssl.SSLCertVerificationError as exc:
        outcome = rec.fail(ErrorClass.TLS, describe_verify_error(exc, name))
        info = await _fetch_unverified(addresses, port, name, rec)
        if info is not None:
            outcome.cert_expires_at = info.not_after
            outcome.message = _with_details(outcome.message, exc, info, name)
        return outcome
    except ssl.SSLError as exc:
        raise CheckFailure(ErrorClass.TLS, describe_ssl_error(exc)) from None
    except OSError as exc:
        raise CheckFailure(ErrorClass.TLS, f"TLS handshake failed: {oserror_text(exc)}") from None
    rec.switch(None)

    info = cert_info(der)
    if info is None:
        raise CheckFailure(ErrorClass.TLS, "the peer sent no readable certificate")
    rec.cert_expires_at = info.not_after
    now = time.time()
    if info.not_after < now:
        return rec.fail(
            ErrorClass.TLS,
            describe_expiry(info, name, warning_days, now) or "TLS certificate has expired",
        )
    if info.not_before > now:
        return rec.fail(ErrorClass.TLS, "TLS certificate is not yet valid")
    return rec.ok(describe_expiry(info, name, warning_days, now) or "")


async def _fetch_unverified(
    addresses: list[str], port: int, name: str, rec: Recorder
) -> CertInfo | None:
    """Read the certificate without verifying it, for the failure message."""
    budget = min(rec.remaining_s(), 5.0)
    if budget <= 0.05:
        return None
    scratch = Recorder()
    try:
        async with asyncio.timeout(budget):
            sock = await _net.connect(name, port, addresses, scratch, prefer="any")
            return cert_info(await handshake(sock, client_context(False), name))
    except (CheckFailure, OSError, TimeoutError, ssl.SSLError):
        return None


def _with_details(
    message: str, exc: ssl.SSLCertVerificationError, info: CertInfo, name: str
) -> str:
    code = getattr(exc, "verify_code", None)
    if code == 10:  # expired: say when
        return describe_expiry(info, name, 0) or message
    if code in (62, 64) and info.dns_names:
        names = ", ".join(info.dns_names[:5]) + (" ..." if len(info.dns_names) > 5 else "")
        return f"{message} (certificate names: {names})"
    if code in (18, 19, 2, 20, 21) and info.issuer:
        return f"{message} (issuer {info.issuer})"
    return message
