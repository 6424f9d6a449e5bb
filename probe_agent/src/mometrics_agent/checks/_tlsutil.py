"""TLS helpers: client contexts, certificate facts and readable errors.

The certificate is read from its DER form with a small parser (validity,
subject, issuer and DNS names only), because ``SSLSocket.getpeercert()``
returns nothing useful when verification is off and the agent should not
need a full X.509 library for four fields.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import dataclasses
import functools
import socket
import ssl
import time

# OpenSSL X509_V_ERR_* codes that get their own wording.
_EXPIRED = 10
_NOT_YET_VALID = 9
_SELF_SIGNED_LEAF = 18
_SELF_SIGNED_IN_CHAIN = 19
_UNKNOWN_ISSUER = (2, 20, 21)
_HOSTNAME_MISMATCH = 62
_IP_MISMATCH = 64


@functools.lru_cache(maxsize=32)
def client_context(verify: bool, ca_pem: str | None = None) -> ssl.SSLContext:
    """A shared client context.

    With ``ca_pem`` set, only those certificates are trusted (like
    blackbox_exporter's ca_file); otherwise the system store is used.
    Contexts are cached: loading the system store costs milliseconds and
    many checks run at once.
    """
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if ca_pem:
        return ssl.create_default_context(cadata=ca_pem)
    return ssl.create_default_context()


@dataclasses.dataclass(frozen=True, slots=True)
class CertInfo:
    not_before: float
    not_after: float
    subject: str
    issuer: str
    dns_names: tuple[str, ...]

    def days_left(self, now: float | None = None) -> float:
        return (self.not_after - (time.time() if now is None else now)) / 86400.0


def describe_expiry(
    info: CertInfo, host: str, warning_days: int, now: float | None = None
) -> str | None:
    """A warning when the certificate has expired or expires within the threshold."""
    days = info.days_left(now)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(info.not_after))
    if days < 0:
        return f"certificate for {host} expired {_days(-days)} ago ({when})"
    if days < warning_days:
        return f"certificate for {host} expires in {_days(days)} ({when})"
    return None


def _days(days: float) -> str:
    if days < 1:
        hours = int(days * 24)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    whole = int(days)
    return f"{whole} day{'s' if whole != 1 else ''}"


def describe_verify_error(err: BaseException, host: str) -> str:
    """Short wording for a certificate verification failure."""
    code = getattr(err, "verify_code", None)
    detail = getattr(err, "verify_message", None) or _ssl_reason(err)
    if code == _EXPIRED:
        return "TLS certificate has expired"
    if code == _NOT_YET_VALID:
        return "TLS certificate is not yet valid"
    if code in (_SELF_SIGNED_LEAF, _SELF_SIGNED_IN_CHAIN):
        return "TLS certificate is self-signed and not trusted"
    if code in _UNKNOWN_ISSUER:
        return "TLS certificate is not trusted: issued by an unknown CA"
    if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
        return f"TLS certificate is not valid for {host!r}"
    return f"TLS certificate verification failed: {detail}"


def describe_ssl_error(err: BaseException) -> str:
    return f"TLS handshake failed: {_ssl_reason(err)}"


def _ssl_reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return str(text).splitlines()[0][:200]


def peer_cert_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    if ssl_object is None:
        return None
    try:
        return ssl_object.getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        return None


async def handshake(sock: socket.socket, context: ssl.SSLContext, server_name: str) -> bytes | None:
    """Run a TLS handshake over a connected socket, close it, return the peer certificate (DER).

    Raises ssl.SSLCertVerificationError / ssl.SSLError / OSError as the
    handshake does.
    """
    _reader, writer = await asyncio.open_connection(
        sock=sock, ssl=context, server_hostname=server_name, ssl_handshake_timeout=None
    )
    try:
        return peer_cert_der(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def cert_info(der: bytes | None) -> CertInfo | None:
    """Parse what the checks need from a DER certificate; None if malformed."""
    if not der:
        return None
    try:
        return _parse_certificate(der)
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


# --- a minimal DER reader ------------------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, start of value, end of value) of the element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    pos = start
    while pos < end:
        tag, vstart, vend = _tlv(data, pos)
        items.append((tag, vstart, vend))
        pos = vend
    return items


def _oid(raw: bytes) -> str:
    first = raw[0]
    parts = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(str(value))
            value = 0
    return ".".join(parts)


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be")
    if tag == 0x14:  # T61String, in practice Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSS
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    text = text.split(".")[0]
    fields = time.strptime(text[:14], "%Y%m%d%H%M%S")
    return float(calendar.timegm(fields))


_NAME_LABELS = {"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C"}


def _name(data: bytes, start: int, end: int) -> str:
    parts = []
    for _set_tag, sstart, send in _children(data, start, end):
        for _seq_tag, astart, aend in _children(data, sstart, send):
            attrs = _children(data, astart, aend)
            if len(attrs) < 2:
                continue
            oid = _oid(data[attrs[0][1] : attrs[0][2]])
            label = _NAME_LABELS.get(oid)
            if label:
                parts.append(f"{label}={_string(attrs[1][0], data[attrs[1][1] : attrs[1][2]])}")
    return ", ".join(parts)


def _parse_certificate(der: bytes) -> CertInfo:
    _tag, cstart, cend = _tlv(der, 0)
    _tbs_tag, tstart, tend = _children(der, cstart, cend)[0]
    fields = _children(der, tstart, tend)
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject, spki, ...
    issuer = _name(der, fields[2][1], fields[2][2])
    validity = _children(der, fields[3][1], fields[3][2])
    not_before = _time(validity[0][0], der[validity[0][1] : validity[0][2]])
    not_after = _time(validity[1][0], der[validity[1][1] : validity[1][2]])
    subject = _name(der, fields[4][1], fields[4][2])
    dns_names: list[str] = []
    for tag, start, end in fields[5:]:
        if tag != 0xA3:  # extensions
            continue
        ((_seq, estart, eend),) = _children(der, start, end)
        for _ext, xstart, xend in _children(der, estart, eend):
            parts = _children(der, xstart, xend)
            if _oid(der[parts[0][1] : parts[0][2]]) != "2.5.29.17":
                continue
            _octet, ostart, _oend = parts[-1]
            _gn, gstart, gend = _tlv(der, ostart)
            for gtag, nstart, nend in _children(der, gstart, gend):
                if gtag == 0x82:  # dNSName
                    dns_names.append(der[nstart:nend].decode("ascii", "replace"))
    return CertInfo(not_before, not_after, subject, issuer, tuple(dns_names))
