"""Time a test controls: virtual time for tests of pacing (a fake clock and sleep that jump to
the next wake-up), and a date-time clock that stands still until the test moves it.

Virtual time only moves when every task is waiting, and it then jumps to the earliest deadline,
so schedules are exact (sends at 0 s, 1 s, 2 s…) and the tests take no wall time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any


class StillClock:
    """A store's clock (``Store.open(clock=...)``): ``now`` until the test sets another."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class VirtualTime:
    """A fake clock and sleep: time advances only when no task can run, to the next wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []  # every delay asked for through ``sleep``, in order
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        """The virtual now, in seconds."""
        return self.now

    async def sleep(self, delay: float) -> None:
        """The code under test's sleep: recorded, then wait for virtual time to reach it."""
        self.sleeps.append(delay)
        await self.pause(delay)

    async def pause(self, delay: float) -> None:
        """A test's own wait (not recorded)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self.now + max(delay, 0.0), next(self._seq), future))
        await future

    async def run(self, *coros: Coroutine[Any, Any, Any]) -> list[Any]:
        """Run the coroutines concurrently to completion; results or exceptions, in order."""
        tasks = [asyncio.ensure_future(coro) for coro in coros]
        while not all(task.done() for task in tasks):
            await self.settle()
            if all(task.done() for task in tasks):
                break
            while self._waiters and self._waiters[0][2].done():
                heapq.heappop(self._waiters)  # a sleep that was cancelled (woken early)
            if not self._waiters:
                raise RuntimeError("deadlock: tasks wait, but not on virtual time")
            deadline, _, future = heapq.heappop(self._waiters)
            self.now = max(self.now, deadline)
            future.set_result(None)
        return [task.exception() or task.result() for task in tasks]

    @staticmethod
    async def settle() -> None:
        """Yield until no other callback is ready: every task is blocked on something."""
        loop = asyncio.get_running_loop()
        for _ in range(3):
            await asyncio.sleep(0)
            # asyncio keeps its ready queue private, and typeshed does not declare it.
            while loop._ready:  # type: ignore[attr-defined]
                await asyncio.sleep(0)
