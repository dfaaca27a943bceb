"""Telegram's flood limits, and the fake Bot API enforcing them (429 with ``retry_after``)."""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from telegram.request import BaseRequest, RequestData

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.errors import QUERY_TOO_OLD, ApiError, too_many_requests
from tests.fakes.records import JSON, ApiCall

# What Telegram's message limits count: a message put in, changed in or removed from a chat.
# answerCallbackQuery, sendChatAction, getUpdates, setMyCommands... are not counted.
LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendPhoto",
        "sendDocument",
        "deleteMessage",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass(frozen=True)
class Refusal:
    """Why a message was refused, and Telegram's ``retry_after`` (whole seconds, at least 1)."""

    limit: Literal["overall", "per chat", "per group"]
    retry_after: int


_NEVER = float("-inf")


def _whole_seconds(wait: float) -> int:
    """Seconds until a slot frees, rounded up as Telegram's retry_after (never below 1)."""
    return max(1, int(-((1e-9 - wait) // 1)))  # ceil, float noise ignored


class TelegramLimits:
    """Telegram's message limits, for a fake that enforces them.

    * ``overall`` messages in any ``period`` seconds for the whole bot (a sliding window);
    * per chat, ``per_chat`` in any ``period`` (a sliding window) or, with ``chat_burst``, a
      token bucket of ``chat_burst`` that starts full and refills ``per_chat`` per ``period``;
    * per group (a negative chat id), with ``group_per_minute``, additionally that many in any
      ``group_period`` seconds (a sliding window).

    The defaults (0.9-s windows, no burst, no group limit) are the older benchmarks': the bot's
    clock is another process's, and messages it paced exactly a second apart can reach the fake
    a little closer. ``TelegramLimits.telegram()`` is Telegram's own, not shortened.

    ``check`` also counts, per chat, calls **repeated before retry_after**: a message to a chat
    that arrives before the retry_after last given to that chat has elapsed, or before the one
    given for the bot-wide limit (to any chat) has elapsed.
    """

    def __init__(
        self,
        overall: int = 30,
        per_chat: int = 1,
        period: float = 0.9,
        *,
        chat_burst: int | None = None,
        group_per_minute: int | None = None,
        group_period: float = 60.0,
    ) -> None:
        self.overall, self.per_chat, self.period = overall, per_chat, period
        self.chat_burst, self.group_per_minute = chat_burst, group_per_minute
        self.group_period = group_period
        self.sent: collections.deque[float] = collections.deque()
        self.chats: dict[int, collections.deque[float]] = {}  # sliding per-chat windows
        self.buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, as of when)
        self.groups: dict[int, collections.deque[float]] = {}
        self.chat_until: dict[int, float] = {}  # chat -> when its last retry_after elapses
        self.overall_until = _NEVER  # when the last bot-wide retry_after elapses
        self.accepted = 0
        self.refused: collections.Counter[str] = collections.Counter()  # limit -> 429s
        self.repeats: collections.Counter[int] = collections.Counter()  # chat -> repeats

    @classmethod
    def off(cls) -> TelegramLimits:
        """No limit at all: every message is accepted (and counted), for a baseline run."""
        return cls(sys.maxsize, sys.maxsize, 0.0)

    @classmethod
    def telegram(cls) -> TelegramLimits:
        """Telegram's limits: 30/s per bot, 1/s per chat with a burst of 3, 20/min per group."""
        return cls(30, 1, 1.0, chat_burst=3, group_per_minute=20)

    def check(self, chat_id: int, now: float) -> Refusal | None:
        """None if a message to ``chat_id`` may go at ``now`` (and count it), else why not."""
        if now < self.chat_until.get(chat_id, _NEVER) or now < self.overall_until:
            self.repeats[chat_id] += 1
        broken: list[Refusal] = []
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        if len(self.sent) >= self.overall:
            broken.append(Refusal("overall", _whole_seconds(self.sent[0] + self.period - now)))
        tokens = 0.0
        if self.chat_burst is None:
            chat = self.chats.setdefault(chat_id, collections.deque())
            while chat and chat[0] <= now - self.period:
                chat.popleft()
            if len(chat) >= self.per_chat:
                wait = chat[0] + self.period - now
                broken.append(Refusal("per chat", _whole_seconds(wait)))
        else:
            rate = self.per_chat / self.period
            tokens, since = self.buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - since) * rate)
            self.buckets[chat_id] = (tokens, now)
            if tokens < 1.0 - 1e-9:
                broken.append(Refusal("per chat", _whole_seconds((1.0 - tokens) / rate)))
        group = None
        if self.group_per_minute is not None and chat_id < 0:
            group = self.groups.setdefault(chat_id, collections.deque())
            while group and group[0] <= now - self.group_period:
                group.popleft()
            if len(group) >= self.group_per_minute:
                wait = group[0] + self.group_period - now
                broken.append(Refusal("per group", _whole_seconds(wait)))
        if broken:
            # The limit that frees last: a retry after any shorter wait would be refused again.
            refusal = max(broken, key=lambda r: r.retry_after)
            self.refused[refusal.limit] += 1
            if refusal.limit == "overall":
                self.overall_until = max(self.overall_until, now + refusal.retry_after)
            self.chat_until[chat_id] = max(
                self.chat_until.get(chat_id, _NEVER), now + refusal.retry_after
            )
            return refusal
        self.accepted += 1
        self.sent.append(now)
        if self.chat_burst is None:
            self.chats[chat_id].append(now)
        else:
            self.buckets[chat_id] = (tokens - 1.0, now)
        if group is not None:
            group.append(now)
        return None

    def refuse(self, chat_id: int, now: float) -> str:
        """'' if a message to ``chat_id`` may go now (and count it), else the limit it breaks."""
        refusal = self.check(chat_id, now)
        return refusal.limit if refusal else ""

    @property
    def repeated(self) -> int:
        """Calls repeated before retry_after, all chats together."""
        return sum(self.repeats.values())


class LimitedTelegram(FakeTelegram):
    """The fake enforcing Telegram's limits on messages and its 15-s window for button answers.

    A message above ``limits`` gets 429 with the ``retry_after`` of the limit it broke (recorded
    as a refused call). A callback query answered more than ``query_window`` seconds after it
    was issued (``issue_callback_query``), by ``clock``, gets Telegram's "query is too old".
    """

    def __init__(
        self,
        *,
        limits: TelegramLimits | None = None,
        query_window: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.limits = limits if limits is not None else TelegramLimits.telegram()
        self.query_window, self.clock = query_window, clock
        self.issued_at: dict[str, float] = {}
        self.too_many: list[tuple[float, int, Refusal]] = []  # (when, chat, why) per 429
        self.too_old = 0  # answers refused as "query is too old" because of their age
        self.polls = 0  # getUpdates calls: a bot in another process polls once it is up

    def issue_callback_query(self) -> str:
        query_id = super().issue_callback_query()
        self.issued_at[query_id] = self.clock()
        return query_id

    def observe(self, api: str, params: JSON, status: int, payload: bytes, at: float) -> None:
        """Called with each answer but getUpdates' (429s included), ``at`` its arrival."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Refuse what breaks a limit, else answer as the fake does; then ``observe``."""
        api = url.rsplit("/", 1)[-1]
        if api == "getUpdates" or request_data is None:
            self.polls += api == "getUpdates"
            return await super().do_request(url, method, request_data)
        params: JSON = dict(request_data.parameters)
        now = self.clock()
        status, payload = self._refusal(api, params, now) or await super().do_request(
            url, method, request_data
        )
        self.observe(api, params, status, payload, now)
        return status, payload

    def _refusal(self, api: str, params: JSON, now: float) -> tuple[int, bytes] | None:
        """Telegram's answer if the call breaks a limit or comes too late, else None."""
        chat_id = params.get("chat_id")
        if api in LIMITED_METHODS and isinstance(chat_id, int):
            refusal = self.limits.check(chat_id, now)
            if refusal is not None:
                description = f"Too Many Requests: retry after {refusal.retry_after}"
                self.calls.append(ApiCall(api, params, error=description))
                self.too_many.append((now, chat_id, refusal))
                return too_many_requests(refusal.retry_after)
        if api == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id", ""))
            issued = self.issued_at.get(query_id)
            fresh = issued is None or now - issued <= self.query_window
            if not fresh and not self.queries.get(query_id, True):
                self.queries[query_id] = True  # Telegram forgets it: a later answer fails too
                self.too_old += 1
                self.calls.append(ApiCall(api, params, error=QUERY_TOO_OLD))
                return ApiError(400, QUERY_TOO_OLD).answer()
        return None
