"""Telegram's limits per bot, not per process: what the delivery engine asks the database when
several replicas share it (PostgreSQL; ``Store.shared``).

* **A chat is sent to by one replica at a time.** Before its first message the engine claims the
  chat (``claim``); it lets go only once nothing is queued for it (``release``). A chat another
  replica holds is left to that one: whatever this replica queued for it is in the outbox, and
  the holder sends it before it may let go. The chat's pacing (its token bucket, a 429's
  ``retry_after`` and, in a group, the sends of the last minute) travels with the claim, so the
  next holder keeps Telegram's per-chat limit and a group's 20 a minute.
* **The bot's 30 a second is one budget.** Each message reserves the next free slot of the
  whole bot (``reserve``: one statement), slots 1.05/30 s apart, and waits for it; a 429 that
  pauses every send pauses every replica (``pause``).

The engine's own limits (``pacing``) stay in force as well: they are what an SQLite deployment,
one process, uses alone. Times cross processes as seconds since the epoch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from bot.store.replicas import ChatPacing, Replicas
from bot.telegram.lanes import Lane
from bot.telegram.pacing import Limits
from bot.telegram.retry import BACKOFF_FIRST

log = logging.getLogger(__name__)

# A chat another replica holds, with a one-off send (a broadcast message) waiting for it here:
# asked again after this many seconds (the holder lets go once its queue is empty).
CLAIM_RETRY = 0.5


class SharedSending:
    """The chat claims and the bot's budget, for one delivery engine (see the module doc)."""

    def __init__(self, replicas: Replicas, limits: Limits, clock: Callable[[], float]) -> None:
        self.replicas = replicas
        self._clock = clock
        self._gap = limits.overall_period / limits.overall if limits.overall else 0.0

    def _epoch(self, at: float) -> float:
        return time.time() + (at - self._clock())

    def _local(self, epoch: float) -> float:
        return self._clock() + (epoch - time.time())

    async def take(self, lane: Lane) -> bool:
        """Whether this replica may send to the chat now: it holds the chat (claimed now if it
        was free) and the chat is ready by the pacing the claim brought along. When another
        replica holds it, what is queued is left to that one, and a one-off send asks again."""
        now = self._clock()
        try:
            if not lane.claimed and not await self.claim(lane):
                lane.outbox = False
                lane.not_before = now + CLAIM_RETRY
                return False
        except Exception as exc:  # the database may be briefly unavailable: try again soon
            log.warning("could not claim a chat: %s; will retry", type(exc).__name__)
            lane.not_before = now + BACKOFF_FIRST
            return False
        return lane.ready_at(now) <= now

    async def let_go(self, lanes: Iterable[Lane]) -> list[Lane]:
        """Release the chats this replica holds with nothing left to do; those that something
        was queued for meanwhile stay this replica's and are returned, marked to send."""
        busy = []
        for lane in [x for x in lanes if x.claimed and not x.busy and x.want() is None]:
            try:
                released = await self.release(lane)
            except Exception as exc:  # still held: the next sweep tries again
                log.warning("could not let go of a chat: %s", type(exc).__name__)
                continue
            if not released and lane.claimed:
                lane.outbox = True
                busy.append(lane)
        return busy

    async def wait_for_slot(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait for this message's slot in the whole bot's budget."""
        try:
            at = await self.reserve()
        except Exception as exc:  # this process's own limits still hold
            log.warning("could not reserve a sending slot: %s", type(exc).__name__)
            return
        wait = at - self._clock()
        if wait > 0:
            await sleep(wait)

    async def claim(self, lane: Lane) -> bool:
        """Take the chat for this replica, with its pacing as the last holder left it; False
        when a live replica holds it."""
        pacing = await self.replicas.claim_chat(chat_id=lane.chat_id)
        if pacing is None:
            return False
        lane.claimed = True
        if pacing.tokens is not None and pacing.stamp is not None:
            lane.bucket.tokens = pacing.tokens
            lane.bucket.stamp = self._local(pacing.stamp)
        if pacing.not_before is not None:
            lane.not_before = max(lane.not_before, self._local(pacing.not_before))
        if lane.group is not None and pacing.group_sends:
            # The group's 20 a minute counts every replica's sends. Each holder took over the
            # list its predecessor left and added its own, so it already holds this replica's
            # earlier sends: it replaces what this one remembers rather than adding to it.
            lane.group.times.clear()
            lane.group.times.extend(sorted(map(self._local, pacing.group_sends)))
        return True

    async def release(self, lane: Lane) -> bool:
        """Let go of a chat with nothing queued; False when something was queued for it
        meanwhile (still this replica's: send it) or the claim was lost (a long silence)."""
        now = self._clock()
        bucket = lane.bucket
        counted = bucket.stamp != float("-inf")
        pacing = ChatPacing(
            tokens=bucket.tokens if counted else None,
            stamp=self._epoch(bucket.stamp) if counted else None,
            not_before=self._epoch(lane.not_before) if lane.not_before > now else None,
            group_sends=self._recent(lane, now),
        )
        chat_id = lane.chat_id
        if await self.replicas.release_chat(
            chat_id=chat_id, pacing=pacing, released_at=time.time()
        ):
            lane.claimed = False
            return True
        if await self.replicas.holder(chat_id=chat_id) != self.replicas.me:
            lane.claimed = False
        return False

    def _recent(self, lane: Lane, now: float) -> tuple[float, ...]:
        """The group's sends still inside its window, to hand on (none for a private chat)."""
        window = lane.group
        if window is None:
            return ()
        return tuple(self._epoch(at) for at in window.times if at + window.period > now)

    async def reserve(self) -> float:
        """The bot's next free sending slot, reserved for this replica, on the engine's clock."""
        if not self._gap:
            return float("-inf")
        return self._local(await self.replicas.reserve(now=time.time(), gap=self._gap))

    async def pause(self, until: float) -> None:
        """Every replica's sends wait until ``until`` (the engine's clock)."""
        try:
            await self.replicas.pause(until=self._epoch(until))
        except Exception as exc:  # this replica pauses all the same
            log.warning("could not pause the other replicas: %s", type(exc).__name__)

    async def sweep(self, lanes: Iterable[Lane], requeue: Callable[[Lane], None]) -> dict[int, int]:
        """Let go of the chats this replica holds with nothing to send (``requeue`` those that
        something was queued for meanwhile), then the chats with queued messages this replica
        may take (free, its own, or a dead replica's), each with its most urgent priority."""
        for lane in await self.let_go(lanes):
            requeue(lane)
        return await self.replicas.claimable()
