"""Handling slots shared fairly between residents: one queue each, served round-robin.

python-telegram-bot runs each update in a slot of its own as soon as it arrives. Waiting there
for a resident's earlier update (their updates must never run at once) would let one resident who
taps ten times a second fill every slot while everybody else waits. Here an update only joins its
resident's queue; a fixed pool of handling slots takes residents in turn, one update per turn, so:

* one resident never holds more than one slot, and never delays another resident by more than
  the one update each of the others is handling;
* a resident's updates are handled one at a time, in the order they arrived;
* a resident's queue in memory is bounded (``backlog``). Updates beyond it are not lost: they are
  in the durable inbox already, and are read back from it, in order, when the queue runs dry.

**Collapsing.** Navigation presses (a card's Next, opening a topic, a menu) may be collapsed when
they arrive faster than they are handled: while one is still waiting, a newer one replaces it
(the resident wants where they tapped last). A collapsed update is marked handled in the inbox
and its button press is answered with a short "one moment". Typed messages, quiz and check-up
answers, consent, settings and everything else are never collapsed: they are always handled, in
order (see ``processing.collapsible``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

U = TypeVar("U")

# Updates of different residents handled at once. SQLite takes one writer at a time and a
# unit of work never waits for the network, so more slots would only wait for each other.
SLOTS = 16
# Updates kept in memory per resident; the rest wait in the inbox.
BACKLOG = 32
# An update whose handling failed outside the handlers (the database was unavailable) is tried
# again after these pauses, then left in the inbox for the next start.
RETRY_PAUSES = (0.5, 2.0, 8.0, 30.0)


@dataclasses.dataclass(eq=False)
class _Resident(Generic[U]):
    key: int
    queue: collections.deque[U] = dataclasses.field(default_factory=collections.deque)
    collapsed: list[U] = dataclasses.field(default_factory=list)
    spilled: bool = False  # updates beyond the backlog wait in the inbox
    running: bool = False
    queued: bool = False  # waiting for a slot
    failures: int = 0  # consecutive failed tries of the update at the queue's head
    waiting: bool = False  # paused after a failure

    def has_work(self) -> bool:
        return bool(self.queue or self.collapsed or self.spilled)


class ResidentQueues(Generic[U]):
    """Per-resident queues of updates and the handling slots that serve them (see module doc)."""

    def __init__(
        self,
        *,
        handle: Callable[[U], Awaitable[None]],
        settle_collapsed: Callable[[int, Sequence[U]], Awaitable[None]],
        reload: Callable[[int, int, set[int]], Awaitable[list[U]]],
        identify: Callable[[U], int],
        collapsible: Callable[[U], bool],
        slots: int = SLOTS,
        backlog: int = BACKLOG,
        retry_pauses: Sequence[float] = RETRY_PAUSES,
    ) -> None:
        self._handle = handle
        self._settle_collapsed = settle_collapsed
        self._reload = reload
        self._identify = identify
        self._collapsible = collapsible
        self._slots = slots
        self._backlog = backlog
        self._retry_pauses = tuple(retry_pauses)
        self._residents: dict[int, _Resident[U]] = {}
        self._ready: asyncio.Queue[_Resident[U]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"finlit-slot-{n}")
                for n in range(self._slots)
            ]

    async def idle(self) -> None:
        """Return once every submitted update is handled (or collapsed)."""
        await self._idle.wait()

    async def stop(self, timeout: float) -> None:
        """Handle what is queued for up to ``timeout`` seconds, then stop the slots. What is left
        is still in the inbox and is handled at the next start."""
        if self._workers and not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    def is_idle(self) -> bool:
        return self._idle.is_set()

    @property
    def depth(self) -> int:
        """Updates waiting in memory (for /metrics)."""
        return sum(len(r.queue) for r in self._residents.values())

    # -- arrivals -------------------------------------------------------------------------------

    def submit(self, key: int, update: U) -> None:
        """Queue ``update`` (already in the durable inbox) behind its resident's earlier ones."""
        resident = self._residents.get(key)
        if resident is None:
            resident = self._residents[key] = _Resident(key)
            self._idle.clear()
        if resident.spilled:
            return  # read back from the inbox in its turn, so the order holds
        if self._collapsible(update) and (resident.running or resident.queue):
            kept: collections.deque[U] = collections.deque()
            for waiting in resident.queue:
                (resident.collapsed if self._collapsible(waiting) else kept).append(waiting)
            resident.queue = kept
        if len(resident.queue) >= self._backlog:
            resident.spilled = True
        else:
            resident.queue.append(update)
        self._schedule(resident)

    def _schedule(self, resident: _Resident[U]) -> None:
        if resident.running or resident.queued or resident.waiting or not resident.has_work():
            return
        resident.queued = True
        self._ready.put_nowait(resident)

    # -- the slots ------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            resident = await self._ready.get()
            resident.queued = False
            resident.running = True
            try:
                await self._turn(resident)
            except Exception:
                log.exception("a handling slot failed")  # never reached in normal operation
            finally:
                resident.running = False
                self._after_turn(resident)

    async def _turn(self, resident: _Resident[U]) -> None:
        """One unit of work for one resident: settle what collapsed, handle one update, or read
        back what waited in the inbox."""
        if resident.collapsed:
            batch, resident.collapsed = resident.collapsed, []
            try:
                await self._settle_collapsed(resident.key, batch)
            except Exception:
                log.exception("could not settle collapsed updates; they are handled at restart")
            return
        if resident.queue:
            update = resident.queue[0]
            try:
                await self._handle(update)
            except Exception as exc:
                self._failed(resident, exc)
                return
            resident.failures = 0
            resident.queue.popleft()
            return
        if resident.spilled:
            loaded = await self._reload(resident.key, self._backlog, set())
            resident.queue.extend(loaded)
            resident.spilled = len(loaded) >= self._backlog

    def _failed(self, resident: _Resident[U], exc: Exception) -> None:
        """Handling failed outside the handlers (they roll back and apologise on their own):
        try again after a pause; after the last one, leave it to the next start."""
        if resident.failures >= len(self._retry_pauses):
            log.error(
                "an update failed %d times (%s); left in the inbox for the next start",
                resident.failures + 1,
                type(exc).__name__,
            )
            resident.failures = 0
            resident.queue.popleft()
            return
        pause = self._retry_pauses[resident.failures]
        resident.failures += 1
        log.warning(
            "handling an update failed (%s); try %d in %.1f s",
            type(exc).__name__,
            resident.failures + 1,
            pause,
            exc_info=exc,
        )
        resident.waiting = True

        def resume() -> None:
            resident.waiting = False
            self._schedule(resident)

        asyncio.get_running_loop().call_later(pause, resume)

    def _after_turn(self, resident: _Resident[U]) -> None:
        if resident.has_work():
            self._schedule(resident)
            return
        if resident.waiting:
            return
        self._residents.pop(resident.key, None)
        if not self._residents:
            self._idle.set()
