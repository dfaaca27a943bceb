"""What each of several bot processes on one PostgreSQL database does for the others.

Every replica says it is alive every third of the lease (``REPLICA_LEASE_SECONDS``). Once a lease,
it also takes over what a replica that stopped answering left behind:

* updates accepted (acknowledged to Telegram) more than a lease ago and still not handled are
  queued here, in order; handling them is safe even if their replica was only slow, since each
  update is handled in its resident's turn and skipped once done (``processing``);
* broadcast deliveries a dead replica claimed are settled as "unknown" (counted as failed, never
  sent again), so the broadcast can finish; a live replica's claims are left alone;
* chats a dead replica held are claimed by whichever replica next has something for them, or
  finds them in its sweep (``sharing``).

A clean stop lets go of its chats and leaves the table, so the others take over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.store import Store
from bot.telegram.broadcast import BroadcastWorker

log = logging.getLogger(__name__)


class ReplicaDuties:
    """This replica's heartbeat and its share of looking after the others (see the module doc)."""

    def __init__(
        self,
        store: Store,
        *,
        adopt: Callable[[Sequence[dict[str, Any]]], Awaitable[None]],
        broadcasts: Callable[[], BroadcastWorker | None],
    ) -> None:
        self.store = store
        self._adopt = adopt
        self._broadcasts = broadcasts
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Register this replica (before it claims anything), then beat in the background."""
        await self.store.replicas.beat()
        self._task = asyncio.create_task(self._loop(), name="finlit-replica")

    async def stop(self) -> None:
        """Stop beating, let go of this replica's chats and leave."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.store.replicas.retire()
        except Exception as exc:  # the others take over after the lease
            log.warning("could not retire this replica: %s", type(exc).__name__)

    async def _loop(self) -> None:
        lease = self.store.replicas.lease.total_seconds()
        beats = 0
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), lease / 3)
            if self._stop.is_set():
                return
            beats += 1
            try:
                await self.store.replicas.beat()
                if beats % 3 == 0:
                    await self.take_over()
            except Exception as exc:  # the next beat tries again
                log.warning("replica duties: %s", type(exc).__name__)

    async def take_over(self) -> None:
        """Queue updates accepted and left unhandled for a lease; settle broadcast claims of
        replicas that died."""
        waiting = await self.store.inbox.waiting(older_than=self.store.replicas.lease)
        if waiting:
            log.info("taking over %d update(s) left unhandled for a lease", len(waiting))
            await self._adopt(waiting)
        worker = self._broadcasts()
        if worker is not None:
            abandoned = await worker.settle_abandoned()
            if abandoned:
                log.warning(
                    "%d broadcast deliveries claimed by a replica that stopped answering; "
                    "counted as failed, not sent again",
                    abandoned,
                )
