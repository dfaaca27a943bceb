"""The echo bot's limiter in bench/load.py: paced, retrying Bot API requests (a PTB
``BaseRateLimiter`` with no dependency). finlit itself used it until its delivery engine
(bot/telegram/delivery.py) took over pacing; the echo bot keeps it so both bots are paced alike.

Telegram's limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 30 messages per second for the whole bot, about 1 per second in one chat, and 20 per minute
in one group. PTB's ``AIORateLimiter`` needs ``aiolimiter`` (not installed), does not pace a
single private chat at all and retries 0 times by default, so finlit has its own limiter:

* A request whose ``data`` carries a ``chat_id`` (sending, editing, deleting in a chat) is paced:
  per chat (1 per second; groups also 20 per 60 seconds) and then by the bot-wide limit
  (30 per second). Every limit is a sliding window — at most N dispatches in any period — so the
  first message to an idle chat leaves at once and waiting only happens when a chat or the whole
  bot is over its rate. ``sendChatAction`` ("typing…") counts only towards the bot-wide limit.
* Requests without a chat (``answerCallbackQuery``, ``getMe``, ``setMyCommands``…) are not paced,
  like in ``AIORateLimiter``: a resident is watching the button's spinner until the callback
  query is answered, and those methods are not what Telegram's message limits count. They do
  honour a flood-control pause (below), because Telegram's 429 applies to the whole bot.
* ``getUpdates`` never reaches a rate limiter (``ExtBot._do_post`` bypasses it).

Retries, so that nothing a resident should receive is silently dropped:

* ``RetryAfter`` (HTTP 429): every request waits ``retry_after`` — the whole bot is paused, as
  Telegram's flood control is per bot — and the request is retried, at most
  ``max_flood_retries`` times, then the error is re-raised.
* ``NetworkError`` proper, including ``TimedOut`` and HTTP 5xx (PTB's
  ``BaseRequest._request_wrapper`` maps every status it has no dedicated exception for,
  502 "Bad Gateway" included, to a plain ``NetworkError``): retried after an exponential
  backoff (0.5 s, 1 s, 2 s… capped), at most ``max_network_retries`` times, then re-raised.
  A timed-out send may in fact have reached Telegram, so a retry can show a message twice;
  a duplicate is preferred over a lost message.
* ``BadRequest`` and ``Forbidden`` (and every other ``TelegramError``) are re-raised at once:
  repeating them cannot succeed.

Messages to one chat are delivered one at a time and in order, retries included: a chat's
requests queue behind each other (not behind other chats), so a retried message is not
overtaken by the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Result]]

# Subclasses of NetworkError (today only BadRequest; the others are listed in case PTB moves
# them under NetworkError) that mean "the request itself is wrong": never retried.
_NOT_TRANSIENT: tuple[type[Exception], ...] = (
    BadRequest,
    Forbidden,
    InvalidToken,
    ChatMigrated,
    Conflict,
    RetryAfter,
    EndPointNotFound,
)

# Chat actions ("typing…") are not messages; pacing them per chat would hold the real reply
# that follows for a whole second. They still count towards the bot-wide limit.
_NOT_PACED_PER_CHAT = frozenset({"sendChatAction"})

# Idle chats' windows are dropped once there are more than this many, at most once per longest
# period (after which every chat seen before the last pass is idle), so memory stays bounded
# without scanning every chat on every request.
_PRUNE_ABOVE = 1024


class _Window:
    """A sliding-window limit: at most ``limit`` dispatches in any ``period`` seconds.

    Keeps the last ``limit`` dispatch times; with a limit of 0 (or a period of 0) it never waits.
    """

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit if period > 0 else 0
        self.period = period
        self.times: deque[float] = deque(maxlen=max(self.limit, 1))

    def delay(self, now: float) -> float:
        """Seconds until one more dispatch is allowed (0 or less: now)."""
        if self.limit == 0 or len(self.times) < self.limit:
            return 0.0
        # The oldest of the last ``limit`` dispatches must have left the window.
        return self.times[0] + self.period - now

    def record(self, now: float) -> None:
        if self.limit:
            self.times.append(now)

    def idle(self, now: float) -> bool:
        """True when forgetting this window cannot let a dispatch through too early."""
        return not self.times or self.times[-1] + self.period <= now


class _Chat:
    """One chat's limits, and a lock that lets its requests leave one at a time, in order."""

    __slots__ = ("lock", "users", "windows")

    def __init__(self, windows: list[_Window]) -> None:
        self.lock = asyncio.Lock()  # FIFO: waiters are served in arrival order
        self.users = 0  # requests holding or waiting for the lock; pruned only at 0
        self.windows = windows


class PacedRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Paces requests to Telegram's limits and retries floods and network errors (see module doc).

    Use as ``Application.builder().rate_limiter(PacedRateLimiter())``.

    Args:
        overall_max_rate, overall_time_period: bot-wide limit for requests to a chat
            (default 30 per 1 s). A rate of 0 disables a limit.
        chat_max_rate, chat_time_period: limit per chat, private or group (default 1 per 1 s).
        group_max_rate, group_time_period: extra limit per group or channel, i.e. a negative or
            ``@username`` chat id (default 20 per 60 s).
        max_flood_retries: retries after a ``RetryAfter`` (429) before re-raising it (default 5).
        max_network_retries: retries after a ``NetworkError`` before re-raising it (default 4).
        backoff_base, backoff_max: the first network-retry wait, doubled each time up to the cap.
        clock, sleep: the time source and the way to wait; tests inject a fake pair.

    ``rate_limit_args`` (``bot.send_message(..., rate_limit_args={...})``) may override
    ``max_flood_retries`` and ``max_network_retries`` for one call.
    """

    __slots__ = (
        "_backoff_base",
        "_backoff_max",
        "_chat_limit",
        "_chats",
        "_clock",
        "_group_limit",
        "_max_flood_retries",
        "_max_network_retries",
        "_next_prune",
        "_overall",
        "_overall_lock",
        "_resume_at",
        "_sleep",
    )

    def __init__(
        self,
        *,
        overall_max_rate: int = 30,
        overall_time_period: float = 1.0,
        chat_max_rate: int = 1,
        chat_time_period: float = 1.0,
        group_max_rate: int = 20,
        group_time_period: float = 60.0,
        max_flood_retries: int = 5,
        max_network_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        numbers = {
            "overall_max_rate": overall_max_rate,
            "overall_time_period": overall_time_period,
            "chat_max_rate": chat_max_rate,
            "chat_time_period": chat_time_period,
            "group_max_rate": group_max_rate,
            "group_time_period": group_time_period,
            "max_flood_retries": max_flood_retries,
            "max_network_retries": max_network_retries,
            "backoff_base": backoff_base,
            "backoff_max": backoff_max,
        }
        for name, value in numbers.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value!r}")
        self._overall = _Window(overall_max_rate, overall_time_period)
        self._chat_limit = (chat_max_rate, chat_time_period)
        self._group_limit = (group_max_rate, group_time_period)
        self._max_flood_retries = max_flood_retries
        self._max_network_retries = max_network_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._clock = clock
        self._sleep = sleep
        # The bot-wide window is taken in turn (FIFO), so no chat can jump the queue.
        self._overall_lock = asyncio.Lock()
        self._chats: dict[int | str, _Chat] = {}
        self._next_prune = float("-inf")
        # Flood control: nothing is dispatched before this clock time.
        self._resume_at = float("-inf")

    async def initialize(self) -> None:
        """Nothing to open: the limits live in memory."""

    async def shutdown(self) -> None:
        """Forget idle chats' windows; chats with requests in flight keep theirs."""
        self._prune(force=True)

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Result:
        """Call ``callback(*args, **kwargs)`` when the limits allow, retrying as described above."""
        overrides = rate_limit_args or {}
        max_flood = int(overrides.get("max_flood_retries", self._max_flood_retries))
        max_network = int(overrides.get("max_network_retries", self._max_network_retries))
        key = _chat_key(data.get("chat_id"))

        if key is None:
            return await self._deliver(
                callback, args, kwargs, endpoint, None, max_flood, max_network
            )
        chat = self._chat(key)
        chat.users += 1
        try:
            async with chat.lock:
                return await self._deliver(
                    callback, args, kwargs, endpoint, chat, max_flood, max_network
                )
        finally:
            chat.users -= 1
            if len(self._chats) > _PRUNE_ABOVE and self._clock() >= self._next_prune:
                self._prune()

    # -- sending and retrying ------------------------------------------------------------------

    async def _deliver(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        chat: _Chat | None,
        max_flood: int,
        max_network: int,
    ) -> Result:
        """Wait for a slot, send, and retry on 429 / network errors within the given bounds."""
        floods = failures = 0
        paced_in_chat = chat is not None and endpoint not in _NOT_PACED_PER_CHAT
        chat_windows = chat.windows if chat is not None and paced_in_chat else []
        while True:
            sent_at = await self._wait_for_slot(endpoint, chat_windows, chat is not None)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                # Hold every request, not just this one: Telegram's flood control is per bot.
                self._resume_at = max(self._resume_at, self._clock() + wait)
                if floods >= max_flood:
                    log.warning(
                        "%s: flood control (retry after %.1f s) persists after %d retries; "
                        "giving up",
                        endpoint,
                        wait,
                        floods,
                    )
                    raise
                floods += 1
                log.info("%s: flood control, all sends paused for %.1f s", endpoint, wait)
                # The wait itself happens in _wait_for_slot, together with everyone else's.
            except NetworkError as exc:
                if isinstance(exc, _NOT_TRANSIENT):
                    raise
                if failures >= max_network:
                    log.warning(
                        "%s: %s persists after %d retries; giving up",
                        endpoint,
                        type(exc).__name__,
                        failures,
                    )
                    raise
                wait = min(self._backoff_base * 2**failures, self._backoff_max)
                failures += 1
                # The class name only: the message may quote the request.
                log.info("%s: %s, retry %d in %.1f s", endpoint, type(exc).__name__, failures, wait)
                # Backing off inside the chat's turn keeps its messages in order.
                await self._sleep(wait)
            else:
                # Only a delivered message counts towards its chat's limits: a failed attempt
                # created nothing in the chat, so its retry need only wait out the backoff.
                # (The chat's lock is still held, so recording this late is safe.)
                for window in chat_windows:
                    window.record(sent_at)
                return result

    async def _wait_for_slot(
        self, endpoint: str, chat_windows: list[_Window], overall: bool
    ) -> float:
        """Return once this request may be dispatched: its dispatch time.

        ``chat_windows`` must allow it (the caller holds the chat's lock, so they cannot change
        meanwhile). ``overall``: the bot-wide window must allow it, and the dispatch is
        recorded there. Every request waits out a flood-control pause.
        """

        def chat_delay(now: float) -> float:
            return max([self._resume_at - now, *(w.delay(now) for w in chat_windows)])

        # First the chat's own limits, outside the bot-wide queue, so a flood to one chat does
        # not hold up the others.
        await self._wait(endpoint, chat_delay)
        if not overall:
            return self._clock()
        async with self._overall_lock:
            # A flood-control pause may have begun while this request queued.
            await self._wait(endpoint, lambda now: max(chat_delay(now), self._overall.delay(now)))
            now = self._clock()
            # Every attempt counts here: to Telegram each one is a request from this bot.
            self._overall.record(now)
            return now

    async def _wait(self, endpoint: str, delay: Callable[[float], float]) -> None:
        """Sleep until ``delay(now)`` is no longer positive (limits can move while asleep)."""
        while (wait := delay(self._clock())) > 0:
            log.debug("%s: paced, waiting %.3f s", endpoint, wait)
            await self._sleep(wait)

    # -- per-chat state ------------------------------------------------------------------------

    def _chat(self, key: int | str) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            windows = [_Window(*self._chat_limit)]
            if isinstance(key, str) or key < 0:
                windows.append(_Window(*self._group_limit))
            chat = self._chats[key] = _Chat([w for w in windows if w.limit])
        return chat

    def _prune(self, *, force: bool = False) -> None:
        """Drop chats with nothing in flight whose windows no longer restrict anything."""
        now = self._clock()
        for key, chat in list(self._chats.items()):
            if chat.users == 0 and (force or all(w.idle(now) for w in chat.windows)):
                del self._chats[key]
        self._next_prune = now + max(self._chat_limit[1], self._group_limit[1])


def _chat_key(chat_id: object) -> int | str | None:
    """The chat a request goes to: an int id, an ``@username`` (a channel or supergroup), or None.

    Numeric strings are the same chat as the int, so they share its limits.
    """
    if chat_id is None or isinstance(chat_id, bool):
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    try:
        return int(text)
    except ValueError:
        return text


def _seconds(retry_after: dtm.timedelta | float) -> float:
    """``RetryAfter.retry_after`` is a timedelta with PTB_TIMEDELTA set, else an int."""
    if isinstance(retry_after, dtm.timedelta):
        return max(retry_after.total_seconds(), 0.0)
    return max(float(retry_after), 0.0)
