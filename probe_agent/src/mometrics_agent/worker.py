"""A worker process: runs its share of the agent's monitors and reports the results.

The agent process (``workers.WorkerPool``) starts it as

    python -m mometrics_agent.worker --fd N --index I --concurrency C ...

and talks to it over the inherited Unix socket N (see ``ipc``). The worker
has its own event loop, scheduler and HTTP session, and no stream, spool or
HTTP port. It ignores SIGINT and SIGTERM, which a terminal or systemd sends
to the whole process group: the agent process stops it with a STOP frame
once its own shutdown starts. When the agent process goes away (the socket
closes), the worker cancels its checks and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys

from mometrics.probe.v1 import agent_pb2
from mometrics_agent import checks, ipc, runtime
from mometrics_agent.ipc import FrameKind
from mometrics_agent.logs import configure_logging
from mometrics_agent.looplag import LoopLagMonitor
from mometrics_agent.scheduler import Scheduler

log = logging.getLogger("mometrics.agent.worker")

STATS_INTERVAL_S = 1.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mometrics_agent.worker",
        description="Check worker of mometrics-agent, which the agent starts itself.",
    )
    parser.add_argument("--fd", type=int, required=True, help="inherited Unix socket")
    parser.add_argument("--index", type=int, required=True, help="worker number, from 0")
    parser.add_argument("--concurrency", type=int, required=True, help="checks at once")
    parser.add_argument(
        "--allow-private", action="store_true", help="allow private and loopback targets"
    )
    parser.add_argument("--event-loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    parser.add_argument(
        "--log-level", default="INFO", help="a level name, or a number such as 20 for INFO"
    )
    return parser


class _Outbox:
    """Writes frames to the agent process, coalescing those of one loop iteration."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._frames: list[bytes] = []

    def send(self, kind: FrameKind, payload: bytes = b"") -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self.flush)
        self._frames.append(ipc.encode(kind, payload))

    def send_result(self, result: agent_pb2.CheckResult) -> None:
        self.send(FrameKind.RESULT, result.SerializeToString())

    def flush(self) -> None:
        if self._frames and not self._writer.is_closing():
            self._writer.write(b"".join(self._frames))
        self._frames.clear()

    async def drain(self) -> None:
        self.flush()
        await self._writer.drain()


async def _report_stats(outbox: _Outbox, scheduler: Scheduler, lag_samples: list[float]) -> None:
    while True:
        await asyncio.sleep(STATS_INTERVAL_S)
        stats = {
            "overruns": scheduler.overruns,
            "running": scheduler.queue_depth,
            "loop_lag_ms": [round(sample, 3) for sample in lag_samples],
        }
        lag_samples.clear()
        outbox.send(FrameKind.STATS, json.dumps(stats).encode())


async def serve(args: argparse.Namespace) -> int:
    sock = socket.socket(fileno=args.fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    outbox = _Outbox(writer)
    lag_samples: list[float] = []
    lag = LoopLagMonitor(observe=lag_samples.append)
    scheduler = Scheduler(outbox.send_result, args.concurrency, args.allow_private, lag)
    lag.start()
    stats = asyncio.create_task(_report_stats(outbox, scheduler, lag_samples))
    checks.preload("http")
    runtime.tune_gc()
    log.debug("worker ready")

    grace_s = 0.0
    while True:
        try:
            kind, payload = await ipc.read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            log.warning("agent process gone; worker stopping")
            break
        except ipc.FrameError as err:
            log.error(
                "invalid frame from the agent process; worker stopping", extra={"error": str(err)}
            )
            break
        if kind is FrameKind.UPSERT:
            scheduler.upsert(agent_pb2.Assignment.FromString(payload))
        elif kind is FrameKind.REMOVE:
            scheduler.remove(payload.decode())
        elif kind is FrameKind.STOP:
            grace_s = float(payload)
            break
        else:
            log.warning("unexpected frame ignored", extra={"kind": kind.name})

    await scheduler.stop(grace_s)
    stats.cancel()
    await lag.stop()
    await checks.close_shared_clients()
    with contextlib.suppress(ConnectionError):
        outbox.send(FrameKind.STOPPED)
        await outbox.drain()
    writer.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    level = int(args.log_level) if args.log_level.isdigit() else args.log_level
    configure_logging(level, worker=args.index)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(runtime.run(serve(args), args.event_loop))


if __name__ == "__main__":
    main()
