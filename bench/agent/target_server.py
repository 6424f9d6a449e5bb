"""Local HTTP target of the agent benchmark, with a per-request record of its own delay.

    python bench/agent/target_server.py PORT

Paths:

* `/ok` returns 200 at once;
* `/delay?ms=N&id=NAME` returns 200 after about N milliseconds;
* `/served` returns, as JSON, what the target recorded for every `/delay`
  request since the previous `/served`: `[id, received_at_ns, held_ns]`.

`received_at_ns` is the kernel's receive timestamp of the request's first
bytes (`SO_TIMESTAMPNS`, Unix nanoseconds), so it does not depend on when
this process got round to reading them. `held_ns` runs from there to the
moment the response was written. The timer behind the delay is late by a
varying amount on a loaded machine. `held_ns` is the delay that was really
served, so a prober's reported latency can be compared with it request by
request.

Every response closes its connection. The server reads requests with
`recvmsg` on non-blocking sockets registered with the event loop
(`add_reader`), because asyncio's transports do not expose ancillary data.
Run it as its own process so that its CPU time is not counted against the
prober.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit

# Linux's SO_TIMESTAMPNS (SO_TIMESTAMPNS_OLD in asm-generic/socket.h), which
# the socket module does not export. The control message has the same number.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("qq")
MAX_REQUEST_BYTES = 16 * 1024


def response(body: bytes, content_type: bytes = b"text/plain") -> bytes:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    return head + body


class TargetServer:
    def __init__(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        self.loop = loop
        self.listener = listener
        self.records: list[tuple[str, int, int]] = []
        # Per connection: bytes read so far and the kernel timestamp of the first.
        self.pending: dict[socket.socket, tuple[bytearray, int]] = {}

    def start(self) -> None:
        self.listener.setblocking(False)
        self.loop.add_reader(self.listener.fileno(), self.accept)

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.pending[conn] = (bytearray(), 0)
            self.loop.add_reader(conn.fileno(), self.read, conn)

    def read(self, conn: socket.socket) -> None:
        try:
            data, ancillary, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return
        except OSError:
            self.close(conn)
            return
        if not data:
            self.close(conn)
            return
        buffer, received_at_ns = self.pending[conn]
        if not received_at_ns:
            received_at_ns = kernel_timestamp_ns(ancillary) or time.time_ns()
        buffer += data
        self.pending[conn] = (buffer, received_at_ns)
        if b"\r\n\r\n" in buffer:
            self.loop.remove_reader(conn.fileno())
            self.answer(conn, bytes(buffer), received_at_ns)
        elif len(buffer) > MAX_REQUEST_BYTES:
            self.close(conn)

    def answer(self, conn: socket.socket, request: bytes, received_at_ns: int) -> None:
        target = request.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        url = urlsplit(target)
        query = parse_qs(url.query)
        if url.path == "/delay":
            delay_s = int(query.get("ms", ["0"])[0]) / 1000
            request_id = query.get("id", [""])[0]
            self.loop.call_later(delay_s, self.send_delayed, conn, request_id, received_at_ns)
        elif url.path == "/served":
            records, self.records = self.records, []
            self.send(conn, response(json.dumps(records).encode(), b"application/json"))
        else:
            self.send(conn, response(b"ok"))

    def send_delayed(self, conn: socket.socket, request_id: str, received_at_ns: int) -> None:
        sent_at_ns = time.time_ns()
        self.send(conn, response(b"ok"))
        self.records.append((request_id, received_at_ns, sent_at_ns - received_at_ns))

    def send(self, conn: socket.socket, payload: bytes) -> None:
        # Small responses fit the socket buffer, so one send writes them whole.
        with contextlib.suppress(OSError):
            conn.send(payload)
        self.close(conn)

    def close(self, conn: socket.socket) -> None:
        if self.pending.pop(conn, None) is not None:
            with contextlib.suppress(ValueError, OSError):
                self.loop.remove_reader(conn.fileno())
        conn.close()


def kernel_timestamp_ns(ancillary: list[tuple[int, int, bytes]]) -> int:
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = TIMESPEC.unpack(payload[: TIMESPEC.size])
            return seconds * 1_000_000_000 + nanoseconds
    return 0


async def serve(port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    TargetServer(asyncio.get_running_loop(), listener).start()
    await asyncio.Event().wait()


def main() -> None:
    port = int(sys.argv[1])
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(port))
    else:
        uvloop.run(serve(port))


if __name__ == "__main__":
    main()
