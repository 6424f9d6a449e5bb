"""Measures event-loop lag, which inflates every latency the agent measures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from mometrics_agent import metrics

TICK_S = 0.01


def _observe_metric(lag_ms: float) -> None:
    metrics.LOOP_LAG.observe(lag_ms / 1000)


class LoopLagMonitor:
    """Wakes every 10 ms and records how late each wake-up was.

    Each lag goes to ``observe``, in milliseconds. By default that is the
    loop lag histogram of /metrics.
    """

    def __init__(self, observe: Callable[[float], None] = _observe_metric) -> None:
        self._observe = observe
        self._window_max_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        while True:
            expected = time.monotonic() + TICK_S
            await asyncio.sleep(TICK_S)
            lag_ms = max(0.0, (time.monotonic() - expected) * 1000)
            self._window_max_ms = max(self._window_max_ms, lag_ms)
            self._observe(lag_ms)

    def reset_window(self) -> None:
        # NOTE: the window is shared by concurrent checks, so each check sees
        # the largest lag since the most recent check started, an
        # approximation of the lag during its own run.
        self._window_max_ms = 0.0

    def window_max_ms(self) -> float:
        return round(self._window_max_ms, 3)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
