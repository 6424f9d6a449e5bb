"""Encode check results as PostgreSQL binary COPY data for check_results.

The format is described in the PostgreSQL manual, "COPY", section "Binary
Format". The data starts with an 11-byte signature, a 32-bit flags word and
a 32-bit header extension length. Each row is a 16-bit field count and, per
field, a 32-bit byte length (-1 for NULL) followed by the value in its
type's binary form. A 16-bit -1 ends the data. All integers are big-endian. The binary
forms used here: timestamptz is int64 microseconds since 2000-01-01 UTC,
uuid its 16 bytes, text UTF-8, smallint int16, real a float32 and boolean
one byte.

A few struct.pack calls per row, with no datetime or UUID objects, keep
the gateway's cost per result low. asyncpg's copy_records_to_table would
need both objects for every row.
"""

from __future__ import annotations

import dataclasses
import struct
import uuid
from collections.abc import Iterable

from mometrics.probe.v1 import agent_pb2
from mometrics_control.alerting.state import NewResult

# Maximum length of a stored error message or error class, in characters.
MAX_MESSAGE_CHARS = 1000
# Maximum number of monitor ids whose parsed form is cached. Past it the
# cache starts over.
MAX_CACHED_IDS = 500_000

COLUMNS = (
    "scheduled_at",
    "monitor_id",
    "started_at",
    "status",
    "latency_ms",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "first_byte_ms",
    "transfer_ms",
    "is_low_confidence",
    "region",
    "agent_id",
    "status_code",
    "error_class",
    "error_message",
)

# Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 UTC.
PG_EPOCH_US = 946_684_800_000_000

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_NULL = struct.pack("!i", -1)
# The fields up to is_low_confidence, each after its byte length.
_HEAD = struct.Struct("!h iq i16s iq ih if if if if if if i?")
_SMALLINT = struct.Struct("!ih")
_LENGTH = struct.Struct("!i")


def clean_text(value: str) -> str:
    """Cut to MAX_MESSAGE_CHARS and drop NUL characters, which text rejects."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:MAX_MESSAGE_CHARS]


def _text_field(value: str) -> bytes:
    if not value:
        return _NULL
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


@dataclasses.dataclass
class EncodedBatch:
    """COPY data of a batch and the new-row view of each result, in order."""

    data: bytes
    rows: list[NewResult]


class ResultEncoder:
    """Builds COPY data, caching the parsed form of every monitor id it saw."""

    def __init__(self) -> None:
        # monitor id as sent -> (its 16 bytes, its canonical text form)
        self._monitor_ids: dict[str, tuple[bytes, str]] = {}

    def _parse_id(self, monitor_id: str) -> tuple[bytes, str]:
        parsed = self._monitor_ids.get(monitor_id)
        if parsed is None:
            if len(self._monitor_ids) >= MAX_CACHED_IDS:
                self._monitor_ids.clear()
            value = uuid.UUID(monitor_id)
            parsed = (value.bytes, str(value))
            self._monitor_ids[monitor_id] = parsed
        return parsed

    def encode(
        self,
        results: Iterable[agent_pb2.CheckResult],
        region: str,
        agent_id: uuid.UUID,
    ) -> EncodedBatch:
        """Encode validated results. A started_at of 0 stores scheduled_at.

        Raises ValueError for a monitor id that is not a UUID.
        """
        region_bytes = region.encode()
        constant = (
            _LENGTH.pack(len(region_bytes)) + region_bytes + _LENGTH.pack(16) + agent_id.bytes
        )
        head = _HEAD.pack
        parse_id = self._parse_id
        parts = [_SIGNATURE]
        append = parts.append
        rows = []
        for result in results:
            id_bytes, monitor_id = parse_id(result.monitor_id)
            scheduled_us = result.scheduled_at_us
            status = result.status
            latency_ms = result.latency_ms
            phases = result.phases
            append(
                head(
                    len(COLUMNS),
                    8,
                    scheduled_us - PG_EPOCH_US,
                    16,
                    id_bytes,
                    8,
                    (result.started_at_us or scheduled_us) - PG_EPOCH_US,
                    2,
                    status,
                    4,
                    latency_ms,
                    4,
                    phases.dns_ms,
                    4,
                    phases.connect_ms,
                    4,
                    phases.tls_ms,
                    4,
                    phases.first_byte_ms,
                    4,
                    phases.transfer_ms,
                    1,
                    result.is_low_confidence,
                )
            )
            append(constant)
            status_code = result.status_code
            append(_SMALLINT.pack(2, status_code) if status_code else _NULL)
            error_class = result.error_class
            append(_text_field(clean_text(error_class)) if error_class else _NULL)
            message = result.error_message
            if message:
                message = clean_text(message)
                append(_text_field(message))
            else:
                append(_NULL)
            rows.append(
                NewResult(
                    monitor_id,
                    scheduled_us,
                    status,
                    latency_ms,
                    message or None,
                    result.cert_expires_at_us,
                )
            )
        append(_TRAILER)
        return EncodedBatch(b"".join(parts), rows)
