"""What the delivery engine keeps per chat: its pacing state and the work waiting for it."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from bot.telegram.pacing import SlidingWindow, TokenBucket

INTERACTIVE, ADMIN, BULK = 0, 1, 2
PRIORITIES = (INTERACTIVE, ADMIN, BULK)


class DeliveryStopped(Exception):
    """The engine stopped before this send got its turn; nothing was sent."""


@dataclasses.dataclass(eq=False)
class Direct:
    """A one-off send (a broadcast message) waiting for its turn."""

    call: Callable[[], Awaitable[Any]]
    priority: int
    future: asyncio.Future[Any]


@dataclasses.dataclass(eq=False)
class Lane:
    """One chat: its pacing state and the work waiting for it."""

    chat_id: int
    bucket: TokenBucket
    group: SlidingWindow | None
    outbox: bool = False  # the outbox may hold messages for this chat
    priority: int = INTERACTIVE  # the most urgent of its queued outbox messages
    direct: collections.deque[Direct] = dataclasses.field(default_factory=collections.deque)
    busy: bool = False  # a send to this chat is in flight
    # When its last message left, the chat had a whole message to spare under its own limits:
    # a 429 then cannot be about this chat, so it is about the whole bot.
    roomy: bool = True
    not_before: float = float("-inf")  # a 429's retry_after, or a network error's backoff
    queued: bool = False  # waiting in a ready queue
    claimed: bool = False  # several replicas: this one holds the chat (sharing.py)

    def want(self) -> int | None:
        """The priority of the work it would do next, or None when it has none."""
        candidates = [d.priority for d in self.direct]
        if self.outbox:
            candidates.append(self.priority)
        return min(candidates) if candidates else None

    def ready_at(self, now: float) -> float:
        times = [self.not_before, self.bucket.ready_at(now)]
        if self.group is not None:
            times.append(self.group.ready_at())
        return max(times)

    def idle(self, now: float) -> bool:
        quiet = self.bucket.idle(now) and (self.group is None or self.group.idle(now))
        return quiet and not self.busy and self.want() is None and self.not_before <= now
