"""Telegram's message limits as numbers and the two small counters that enforce them.

Telegram (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this)
allows a bot about 30 messages a second overall, about one a second in one chat (a short burst
is tolerated) and 20 a minute in one group. The delivery engine (``delivery.py``) asks these
counters when the next message may leave; nothing here sleeps or sends.

A sliding window counts the last N dispatches, so it never lets more than N through in any
period, unlike a token bucket that starts full (30 tokens plus 30 a second lets about 60 through
in the first second). The per-chat limit is a token bucket on purpose: a chat may take a burst of
three (a reply of two messages and a toast's edit) and then one a second.

``aiolimiter`` (a maintained leaky bucket) was considered: it sleeps inside ``acquire`` and so
cannot tell a scheduler *when* a chat will be ready without blocking, which fair round-robin
across thousands of chats needs; these two classes are the few lines that can.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Awaitable, Callable


@dataclasses.dataclass(frozen=True)
class Limits:
    """How fast delivery may go. Periods carry a margin over Telegram's own (see ``telegram``)."""

    overall: int = 30  # messages per ``overall_period`` for the whole bot
    overall_period: float = 1.0
    chat_burst: int = 3  # a chat's bucket: this many at once, then one per ``chat_period``
    chat_period: float = 1.0
    group: int = 20  # messages per ``group_period`` in one group or channel
    group_period: float = 60.0

    @classmethod
    def telegram(cls) -> Limits:
        """Telegram's limits with a 5% margin: a message is timed when it leaves this process,
        and the network can bunch a second's sends together (30 in exactly 1.0 s drew 429s in
        bench/broadcast.py); 30 per 1.05 s still delivers about 28.6 messages a second."""
        return cls(overall_period=1.05, chat_period=1.05, group_period=63.0)

    @classmethod
    def unlimited(cls) -> Limits:
        """No pacing at all (tests of behaviour, and benchmarks that measure the bot alone)."""
        return cls(overall=0, chat_burst=0, group=0)


class SlidingWindow:
    """At most ``limit`` dispatches in any ``period`` seconds; a limit of 0 never waits."""

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit if period > 0 else 0
        self.period = period
        self.times: deque[float] = deque(maxlen=max(self.limit, 1))

    def ready_at(self) -> float:
        """The earliest clock time the next dispatch is allowed."""
        if self.limit == 0 or len(self.times) < self.limit:
            return float("-inf")
        # The oldest of the last ``limit`` dispatches must have left the window.
        return self.times[0] + self.period

    def record(self, now: float) -> None:
        if self.limit:
            self.times.append(now)

    def idle(self, now: float) -> bool:
        """True when forgetting this window cannot let a dispatch through too early."""
        return not self.times or self.times[-1] + self.period <= now


class TokenBucket:
    """``burst`` dispatches at once, refilled at one per ``period``; a burst of 0 never waits."""

    __slots__ = ("burst", "period", "stamp", "tokens")

    def __init__(self, burst: int, period: float) -> None:
        self.burst = burst if period > 0 else 0
        self.period = period
        self.tokens = float(self.burst)
        self.stamp = float("-inf")

    def _refill(self, now: float) -> None:
        if self.stamp == float("-inf"):
            self.tokens = float(self.burst)
        else:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) / self.period)
        self.stamp = now

    def ready_at(self, now: float) -> float:
        if self.burst == 0:
            return float("-inf")
        self._refill(now)
        if self.tokens >= 1.0:
            return float("-inf")
        return now + (1.0 - self.tokens) * self.period

    def take(self, now: float) -> None:
        if self.burst:
            self._refill(now)
            self.tokens -= 1.0

    def idle(self, now: float) -> bool:
        if self.burst == 0:
            return True
        self._refill(now)
        return self.tokens >= self.burst


@dataclasses.dataclass(frozen=True)
class Pacing:
    """The limits delivery keeps, and the clock it keeps them by (tests pass a virtual one)."""

    limits: Limits = dataclasses.field(default_factory=Limits.telegram)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
