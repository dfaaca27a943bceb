"""The delivery engine: one per process, it drains the outbox to Telegram within its limits.

Handling an update commits its effects and its replies (outbox rows) together and returns; it
never waits for Telegram's pacing. This engine then sends, so that a slow chat, a 429 or a
flooding resident delays only itself:

* **Per chat, in order.** A chat's messages leave one at a time, oldest first; a failed one is
  retried before anything queued behind it.
* **Fair across chats.** Chats with something to send wait in a round-robin queue: after each
  message a chat goes to the back, so a chat with fifty queued replies takes one turn in each
  round, like everyone else.
* **Priorities.** Residents' replies (0) go before administrators' replies (1), which go before
  bulk messages such as broadcasts (2): a broadcast to 20,000 takes only the capacity a lecture
  leaves. A chat that is not ready (paced) does not hold a slot: the next ready chat takes it.
* **Telegram's limits** (``pacing.Limits``): at most 30 messages in any second overall (a sliding
  window), one a second per chat with a burst of three, 20 a minute per group.
* **Errors** (what each answer means and the backoff are ``retry.py``'s): a 429 pauses its chat
  for ``retry_after`` and the message goes again after it; when three chats draw one within a
  second, *every* send pauses. 5xx and network errors are retried with backoff (0.5 s … 30 s),
  a message dropped (and logged) after eight tries; 403 marks the chat blocked and drops its
  queue; any other refusal drops that message, loudly: repeating it cannot succeed.
* **Replicas** (``sharing.py``): with several processes on one PostgreSQL database, one holds
  each chat at a time, and all of them share the bot's 30 a second and its pauses.
* **Economy.** Of several queued edits of one message only the newest is sent (the older ones
  are *coalesced*); an edit identical to what the chat already shows is not sent at all.

Delivery is at least once: a message is deleted from the outbox only after Telegram accepted it,
so a crash between the two sends it again on the next start. Broadcasts are sent through
``send`` instead (one attempt, never retried after a network error), so that they share the same
limits and priorities while keeping their at-most-once promise (``broadcast.py``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.core.models import Queued
from bot.store import Store
from bot.telegram.lanes import BULK, INTERACTIVE, PRIORITIES, DeliveryStopped, Direct, Lane
from bot.telegram.metrics import METRICS
from bot.telegram.pacing import Limits, SlidingWindow, TokenBucket
from bot.telegram.retry import BACKOFF_FIRST, BACKOFF_MAX, Failure, Kind, backoff, classify
from bot.telegram.sending import PartGone, Shown, describe, send_payload, superseded
from bot.telegram.sharing import SharedSending

log = logging.getLogger(__name__)

T = TypeVar("T")

# 429s from this many different chats within FLOOD_WINDOW seconds pause every send.
FLOOD_CHATS, FLOOD_WINDOW = 3, 1.0
# Messages read from a chat's queue at a time: enough to see the edits that supersede each other.
READ_AHEAD = 50
# Sends in flight at once: hides Telegram's round trip (30 a second at 300 ms is 9 in flight).
MAX_IN_FLIGHT = 16
# How often the outbox is scanned for chats this process was not told about (rows another
# process queued, or left by a failure), in seconds of real time.
SWEEP_SECONDS = 5.0
# Idle chats' pacing state is forgotten once there are more than this many.
PRUNE_ABOVE = 2048


class DeliveryEngine:
    """Sends the outbox and one-off messages within Telegram's limits (see the module doc)."""

    def __init__(
        self,
        bot: ExtBot[None],
        store: Store,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_in_flight: int = MAX_IN_FLIGHT,
        sweep_seconds: float = SWEEP_SECONDS,
        metrics_file: Path | None = None,
        shared: SharedSending | None = None,
    ) -> None:
        self.bot = bot
        self.store = store
        self.limits = limits or Limits.telegram()
        self._clock = clock
        self._sleep = sleep
        self._max_in_flight = max_in_flight
        self._sweep_seconds = sweep_seconds
        self._metrics_file = metrics_file
        self._shared = shared  # several replicas share the database and Telegram's limits
        self._overall = SlidingWindow(self.limits.overall, self.limits.overall_period)
        self._paused_until = float("-inf")  # every send waits (a 429 about the whole bot)
        # Sends leave evenly spaced, not in bursts: a burst of 30 queues up in the network and
        # reaches Telegram bunched, and then one second can count more than 30 (bench/lecture.py
        # drew 429s so); spaced out, residents' replies also never wait behind a broadcast's
        # burst for the next window, only for the next slot.
        self._gap = self.limits.overall_period / self.limits.overall if self.limits.overall else 0.0
        self._next_slot = float("-inf")
        self._floods: collections.deque[tuple[float, int]] = collections.deque()
        self._lanes: dict[int, Lane] = {}
        self._ready: dict[int, collections.deque[Lane]] = {
            p: collections.deque() for p in PRIORITIES
        }
        self._working: set[int] = set()  # chats with work queued or in flight
        self._shown = Shown()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_sweep = 0.0

    # -- what the rest of finlit calls ----------------------------------------------------------

    async def start(self) -> None:
        """Pick up whatever a stop or a crash left in the outbox, then deliver in the background."""
        await self._sweep()
        self._task = asyncio.create_task(self._run(), name="finlit-delivery")

    def notify(self, chat_id: int, priority: int = INTERACTIVE) -> None:
        """The outbox has new messages for ``chat_id`` (committed): send them in turn."""
        lane = self._lane(chat_id)
        lane.priority = min(lane.priority, priority) if lane.outbox else priority
        lane.outbox = True
        self._queue(lane)

    async def send(
        self, chat_id: int, call: Callable[[], Awaitable[T]], *, priority: int = BULK
    ) -> T:
        """Make one call to ``chat_id`` in its turn (limits and priorities as for the outbox).

        One attempt only: the caller decides about retries. A 429 still pauses the chat (and
        counts towards the rule that pauses everyone) before it is raised to the caller.
        """
        if self._stopping:
            raise DeliveryStopped
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane = self._lane(chat_id)
        lane.direct.append(Direct(call, priority, future))
        self._queue(lane)
        return await future

    def has_pending(self, chat_id: int) -> bool:
        """Whether something for this chat is queued here or on its way."""
        return chat_id in self._working

    def expected_wait(self, chat_id: int, priority: int = INTERACTIVE) -> float:
        """A rough estimate, in seconds, of how long a new message to this chat would wait."""
        now = self._clock()
        lane = self._lanes.get(chat_id)
        own = max(0.0, lane.ready_at(now) - now) if lane is not None else 0.0
        ahead = sum(len(self._ready[p]) for p in PRIORITIES if p <= priority)
        rate = self.limits.overall / self.limits.overall_period if self.limits.overall else 0.0
        shared = ahead / rate if rate else 0.0
        return max(own, shared, self._paused_until - now)

    async def idle(self) -> None:
        """Return once nothing is queued or in flight (tests, and a stop's flush)."""
        await self._idle.wait()

    def is_idle(self) -> bool:
        return self._idle.is_set()

    async def stop(self, flush_seconds: float = 10.0) -> None:
        """Send what is queued for up to ``flush_seconds``, then stop; what is left stays in the
        outbox for the next start. One-off sends not yet started get ``DeliveryStopped``."""
        if self._task is not None and not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), flush_seconds)
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), 5.0)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=max(flush_seconds, 1.0))
        for lane in self._lanes.values():
            while lane.direct:
                waiting = lane.direct.popleft()
                if not waiting.future.done():
                    waiting.future.set_exception(DeliveryStopped())
        dumped = METRICS.dump(self._metrics_file)
        if dumped:
            log.info("metrics written to %s", dumped)

    # -- the scheduler --------------------------------------------------------------------------

    async def _run(self) -> None:
        # Stopped by ``_stopping``, not by cancelling: Python 3.11's wait_for can swallow a
        # cancellation that arrives just as the event it waits for is set.
        while not self._stopping:
            self._wake.clear()
            if time.monotonic() >= self._next_sweep:
                await self._sweep()
            now = self._clock()
            paced = max(self._paused_until, self._overall.ready_at(), self._next_slot)
            if paced > now:
                await self._nap(paced - now)
                continue
            if len(self._in_flight) >= self._max_in_flight:
                await self._nap(None)  # a finished send wakes the scheduler
                continue
            lane, soonest = self._pick(now)
            if lane is None:
                await self._nap(None if soonest is None else soonest - now)
                continue
            if self._shared is not None and not await self._shared.take(lane):
                self._settle(lane)  # held by another replica, or not ready yet by its pacing
                continue
            job = await self._prepare(lane)
            if job is None:
                self._settle(lane)
                continue
            if self._shared is not None:
                await self._shared.wait_for_slot(self._sleep)
            now = self._clock()
            self._overall.record(now)
            # On a schedule, not from the moment this one left: a scheduler that woke a little
            # late does not lose the time (the sliding window still caps any second at 30);
            # after a quiet spell the schedule starts again from now.
            late = now - self._next_slot
            self._next_slot = (self._next_slot if late < self._gap else now) + self._gap
            lane.bucket.take(now)
            if lane.group is not None:
                lane.group.record(now)
            lane.roomy = lane.bucket.ready_at(now) <= now and (
                lane.group is None or lane.group.ready_at() <= now
            )
            lane.busy = True
            task = asyncio.create_task(self._carry_out(lane, job), name="finlit-send")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _nap(self, seconds: float | None) -> None:
        """Wait until woken, or ``seconds`` on the engine's clock (None: the sweep interval)."""
        if self._wake.is_set():
            return
        if seconds is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sweep_seconds)
            return
        woken = asyncio.ensure_future(self._wake.wait())
        slept = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (woken, slept):
                waiter.cancel()
            await asyncio.gather(woken, slept, return_exceptions=True)

    def _pick(self, now: float) -> tuple[Lane | None, float | None]:
        """The first ready chat, most urgent priority first, round-robin within one; else None
        and the soonest time one will be ready."""
        soonest: float | None = None
        for priority in PRIORITIES:
            queue = self._ready[priority]
            for lane in queue:
                at = lane.ready_at(now)
                if at <= now:
                    queue.remove(lane)
                    lane.queued = False
                    return lane, None
                soonest = at if soonest is None else min(soonest, at)
        return None, soonest

    def _lane(self, chat_id: int) -> Lane:
        lane = self._lanes.get(chat_id)
        if lane is None:
            limits = self.limits
            group = SlidingWindow(limits.group, limits.group_period) if chat_id < 0 else None
            lane = self._lanes[chat_id] = Lane(
                chat_id, TokenBucket(limits.chat_burst, limits.chat_period), group
            )
            if len(self._lanes) > PRUNE_ABOVE:
                self._prune()
        return lane

    def _queue(self, lane: Lane) -> None:
        """Put a chat with work at the back of its priority's queue (unless it is there or busy)."""
        want = lane.want()
        if want is None:
            return
        self._working.add(lane.chat_id)
        self._idle.clear()
        if not lane.busy and not lane.queued:
            self._ready[want].append(lane)
            lane.queued = True
        self._wake.set()

    def _settle(self, lane: Lane) -> None:
        """After a turn: back in the queue if there is more, else no longer working."""
        if lane.want() is not None:
            self._queue(lane)
            return
        self._working.discard(lane.chat_id)
        if not self._working:
            self._idle.set()

    def _prune(self) -> None:
        now = self._clock()
        for chat_id, lane in list(self._lanes.items()):
            if lane.idle(now) and not lane.queued and not lane.claimed:
                del self._lanes[chat_id]

    async def _sweep(self) -> None:
        """Find chats with queued messages this process was not told about."""
        self._next_sweep = time.monotonic() + self._sweep_seconds
        try:
            if self._shared is not None:  # also lets go of chats with nothing left to send
                chats = await self._shared.sweep(self._lanes.values(), self._queue)
            else:
                chats = await self.store.outbox.chats()
        except Exception as exc:  # the database may be briefly unavailable: try next time
            log.warning("could not read the outbox: %s", type(exc).__name__)
            return
        for chat_id, priority in chats.items():
            lane = self._lane(chat_id)
            if not lane.outbox:
                self.notify(chat_id, priority)

    # -- one message ----------------------------------------------------------------------------

    async def _prepare(self, lane: Lane) -> Queued | Direct | None:
        """The next thing to send to this chat: its oldest outbox message (after dropping the
        edits that newer ones supersede and edits that change nothing), or a one-off send."""
        direct_first = lane.direct and (not lane.outbox or lane.direct[0].priority < lane.priority)
        if lane.outbox and not direct_first:
            message = await self._next_queued(lane)
            if message is not None:
                return message
        if lane.direct:
            return lane.direct.popleft()
        return None

    async def _next_queued(self, lane: Lane) -> Queued | None:
        try:
            blocked, queued = await self.store.outbox.for_chat(
                chat_id=lane.chat_id, limit=READ_AHEAD
            )
            if blocked:
                dropped = await self.store.outbox.drop_chat(chat_id=lane.chat_id)
                log.info("skipped %d message(s) to a chat that blocked the bot", dropped)
                queued = []
            skip = [m.id for m in superseded(queued)]
            if skip:
                METRICS.inc("finlit_edits_coalesced_total", len(skip))
            live = [m for m in queued if m.id not in set(skip)]
            while live and self._shown.unchanged(lane.chat_id, live[0].payload):
                METRICS.inc("finlit_edits_unchanged_total")
                skip.append(live.pop(0).id)
            if skip:
                await self.store.outbox.sent(ids=skip)
        except Exception as exc:  # the database may be briefly unavailable: try again soon
            log.warning("could not read a chat's queue: %s; will retry", type(exc).__name__)
            lane.not_before = self._clock() + BACKOFF_FIRST
            return None
        if not live:
            lane.outbox = False
            if self._shared is not None:
                await self._shared.let_go([lane])  # unless something was queued meanwhile
            return None
        # Only what was read counts: more may be queued behind it (READ_AHEAD).
        lane.priority = min(m.priority for m in live)
        return live[0]

    async def _carry_out(self, lane: Lane, job: Queued | Direct) -> None:
        try:
            if isinstance(job, Direct):
                await self._send_direct(lane, job)
            else:
                await self._send_queued(lane, job)
        except Exception:  # a bug here must not stop the engine; the message stays queued
            log.exception("delivery failed unexpectedly")
            lane.not_before = self._clock() + BACKOFF_MAX
        finally:
            lane.busy = False
            self._settle(lane)
            self._wake.set()

    async def _send_direct(self, lane: Lane, job: Direct) -> None:
        if job.future.done():
            return  # its caller gave up waiting: nothing is sent
        try:
            result = await job.call()
        except Exception as exc:  # the caller decides what to do about it (retry.py)
            failure = classify(exc)
            if failure.kind is Kind.FLOOD:
                await self._flood(lane, failure)
            job.future.set_exception(exc)
        else:
            METRICS.inc("finlit_sends_total")
            job.future.set_result(result)

    async def _send_queued(self, lane: Lane, message: Queued) -> None:
        chat_id, payload = lane.chat_id, message.payload
        try:
            shown = await send_payload(self.bot, chat_id, payload, self.store.exports)
        except PartGone:
            log.warning("an export part was purged before it could be sent; dropped")
            await self.store.outbox.sent(ids=[message.id])
            return
        except Exception as exc:
            failure = classify(exc)
            if failure.kind is Kind.UNEXPECTED:
                raise  # not Telegram's answer: _carry_out logs it and the message stays queued
            await self._failed(lane, message, failure, exc)
            return
        METRICS.inc("finlit_sends_total")
        if shown is None:
            METRICS.inc("finlit_edits_unchanged_total")  # Telegram said "not modified"
        elif payload.get("kind") == "text":
            self._shown.remember(chat_id, shown, payload)
        elif payload.get("kind") == "export":
            await self.store.exports.part_sent(export_id=payload["export"], part=payload["part"])
        await self.store.outbox.sent(ids=[message.id])

    async def _failed(
        self, lane: Lane, message: Queued, failure: Failure, exc: BaseException
    ) -> None:
        """Act on a queued message's failed send as the policy says (retry.py): at least once."""
        chat_id, payload = lane.chat_id, message.payload
        if failure.kind is Kind.FLOOD:
            await self._flood(lane, failure)
            return  # sent again after retry_after: a 429 is a certain refusal
        if failure.kind is Kind.BLOCKED:
            # Blocked, or removed from the group: nothing is attempted until they come back.
            await self.store.residents.set_blocked(resident_id=chat_id, blocked=True)
            await self.store.outbox.drop_chat(chat_id=chat_id)
            lane.outbox = False
            log.info("chat unreachable (forbidden); marked blocked")
            return
        if failure.kind is Kind.GONE and payload.get("edit") is not None:
            fresh = {key: value for key, value in payload.items() if key != "edit"}
            await self.store.outbox.rewrite(message_id=message.id, payload=fresh)
            return  # sent as a new message at the chat's next turn
        if not failure.retry_later:
            # Telegram will refuse this message however often it is sent: drop it, loudly.
            reason = exc.message if isinstance(exc, TelegramError) else describe(exc)
            log.error("message refused by Telegram and dropped: %s", reason)
            await self.store.outbox.sent(ids=[message.id])
            return
        # Timeouts, 5xx (an HTML error page included), an unreadable answer.
        attempts = await self.store.outbox.failed(message_id=message.id)
        METRICS.inc("finlit_send_retries_total")
        wait = backoff(attempts)
        if wait is None:
            log.warning(
                "message dropped after %d failed attempts (%s)", attempts, type(exc).__name__
            )
            await self.store.outbox.sent(ids=[message.id])
            return
        lane.not_before = self._clock() + wait
        log.warning(
            "delivery failed (%s); attempt %d, retry in %.1f s", describe(exc), attempts, wait
        )

    async def _flood(self, lane: Lane, failure: Failure) -> None:
        """A 429: pause the chat; pause everyone when it cannot have been the chat's own limit
        (it had room to spare when the message left) or several chats drew one within a second."""
        METRICS.inc("finlit_flood_waits_total")
        now = self._clock()
        wait = failure.retry_after
        lane.not_before = max(lane.not_before, now + wait)
        self._floods.append((now, lane.chat_id))
        while self._floods and self._floods[0][0] < now - FLOOD_WINDOW:
            self._floods.popleft()
        if lane.roomy:
            if now + wait > self._paused_until:
                await self._pause(now + wait)
                log.warning("flood control (the bot's limit): every send paused for %.1f s", wait)
            return
        if len({chat for _, chat in self._floods}) >= FLOOD_CHATS:
            longest = max(
                (self._lanes[c].not_before for _, c in self._floods if c in self._lanes),
                default=now + wait,
            )
            if longest > self._paused_until:
                await self._pause(longest)
                log.warning("flood control: every send paused for %.1f s", longest - now)
            return
        log.warning("flood control: one chat paused for %.1f s", wait)

    async def _pause(self, until: float) -> None:
        """Every send waits until ``until`` (with replicas, every replica's)."""
        self._paused_until = until
        if self._shared is not None:
            await self._shared.pause(until)
