"""Frames between the agent process and its worker processes, over a Unix socket.

A frame is a 1-byte kind, a 4-byte big-endian payload length and the
payload. Assignments and results travel as their protobuf encoding, so both
sides share the gateway protocol's types.

From the agent process to a worker:

* ``UPSERT``: an Assignment;
* ``REMOVE``: a monitor id in UTF-8;
* ``STOP``: the grace period in seconds, as ASCII text.

From a worker to the agent process:

* ``RESULT``: a CheckResult;
* ``STATS``: JSON with ``overruns`` (the worker's running total),
  ``running`` (the checks running now) and ``loop_lag_ms`` (the loop lag
  samples since the previous STATS);
* ``STOPPED``: empty. The worker has finished its checks and sent their
  results.
"""

from __future__ import annotations

import asyncio
import enum
import struct

HEADER = struct.Struct("!BI")
# Far above any real frame; a larger length means a corrupt stream.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class FrameKind(enum.IntEnum):
    UPSERT = 1
    REMOVE = 2
    STOP = 3
    RESULT = 10
    STATS = 11
    STOPPED = 12


class FrameError(Exception):
    """The other side sent something that is not a frame."""


def encode(kind: FrameKind, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[FrameKind, bytes]:
    """Read one frame.

    Raises asyncio.IncompleteReadError at the end of the stream and
    FrameError for an unknown kind or an impossible length.
    """
    header = await reader.readexactly(HEADER.size)
    kind, length = HEADER.unpack(header)
    if length > MAX_PAYLOAD_BYTES:
        raise FrameError(f"frame of {length} bytes is larger than {MAX_PAYLOAD_BYTES}")
    try:
        frame_kind = FrameKind(kind)
    except ValueError:
        raise FrameError(f"unknown frame kind {kind}") from None
    return frame_kind, await reader.readexactly(length)
