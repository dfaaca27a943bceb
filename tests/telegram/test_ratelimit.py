"""PacedRateLimiter: Telegram's limits, flood control and network retries, on virtual time.

Every test runs on a ``VirtualTime``: the limiter's ``clock`` and ``sleep`` are fake, time only
moves when every task is waiting, and it then jumps to the earliest wake-up. Schedules are
therefore exact (sends at 0 s, 1 s, 2 s…) and the tests take no wall time.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import heapq
import itertools
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, ExtBot
from telegram.request import RequestData

from bot.telegram.metrics import METRICS
from bot.telegram.ratelimit import PacedRateLimiter, _seconds
from tests.fakes import FakeTelegram

os.environ.setdefault("PTB_TIMEDELTA", "true")

PRIVATE = 1001
GROUP = -2002
TOKEN = "123:ABC"


class VirtualTime:
    """A fake clock and sleep: time advances only when no task can run, to the next wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []  # every delay the limiter asked for, in order
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        """The limiter's sleep: recorded, then wait for virtual time to reach the deadline."""
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
            await self._settle()
            if all(task.done() for task in tasks):
                break
            if not self._waiters:
                raise RuntimeError("deadlock: tasks wait, but not on virtual time")
            deadline, _, future = heapq.heappop(self._waiters)
            self.now = max(self.now, deadline)
            future.set_result(None)
        return [task.exception() or task.result() for task in tasks]

    @staticmethod
    async def _settle() -> None:
        """Yield until no other callback is ready: every task is blocked on something."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        while loop._ready:  # type: ignore[attr-defined]
            await asyncio.sleep(0)


class TimedFake(FakeTelegram):
    """FakeTelegram that also notes the virtual time of every request: (time, method, chat)."""

    def __init__(self, vt: VirtualTime) -> None:
        super().__init__()
        self.vt = vt
        self.sent: list[tuple[float, str, Any]] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data else {}
        self.sent.append((self.vt.now, url.rsplit("/", 1)[-1], params.get("chat_id")))
        return await super().do_request(url, method, request_data, *args, **kwargs)

    def times(self, method: str = "sendMessage", chat: Any = None) -> list[float]:
        return [t for t, m, c in self.sent if m == method and (chat is None or c == chat)]


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def fake(vt: VirtualTime) -> TimedFake:
    return TimedFake(vt)


def make_limiter(vt: VirtualTime, **kwargs: Any) -> PacedRateLimiter:
    return PacedRateLimiter(clock=vt.clock, sleep=vt.sleep, **kwargs)


@pytest.fixture
def limiter(vt: VirtualTime) -> PacedRateLimiter:
    return make_limiter(vt)


@pytest.fixture
async def bot(fake: TimedFake, limiter: PacedRateLimiter) -> AsyncIterator[ExtBot[Any]]:
    ext_bot: ExtBot[Any] = ExtBot(
        TOKEN, request=fake, get_updates_request=fake, rate_limiter=limiter
    )
    await ext_bot.initialize()  # also initializes the limiter
    await limiter.initialize()
    fake.reset_calls()
    fake.sent.clear()
    yield ext_bot
    await ext_bot.shutdown()


def counters() -> dict[str, float]:
    return dict(METRICS.counters)


def delta(before: dict[str, float], name: str) -> float:
    return METRICS.counters[name] - before[name]


def max_in_window(times: list[float], period: float) -> int:
    """The most sends in any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t <= u < t + period) for t in ordered)


# -- pacing --------------------------------------------------------------------------------------


async def test_one_private_chat_gets_one_message_per_second(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    await vt.run(*(bot.send_message(PRIVATE, f"m{i}") for i in range(5)))

    assert fake.times(chat=PRIVATE) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert vt.sleeps == [1.0, 1.0, 1.0, 1.0]
    assert fake.sent_texts(PRIVATE) == ["m0", "m1", "m2", "m3", "m4"]  # in order


async def test_a_quiet_chat_is_answered_at_once_after_a_pause(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    async def later() -> None:
        await bot.send_message(PRIVATE, "first")
        await vt.pause(5)
        await bot.send_message(PRIVATE, "second")

    await vt.run(later())

    assert fake.times(chat=PRIVATE) == [0.0, 5.0]
    assert vt.sleeps == []


async def test_different_chats_do_not_wait_for_each_other(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    await vt.run(*(bot.send_message(PRIVATE + i, "hello") for i in range(5)))

    assert fake.times() == [0.0] * 5
    assert vt.sleeps == []


async def test_a_flood_to_one_chat_does_not_delay_another(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    flood = [bot.send_message(PRIVATE, f"m{i}") for i in range(5)]
    await vt.run(*flood, bot.send_message(PRIVATE + 1, "other"))

    assert fake.times(chat=PRIVATE + 1) == [0.0]
    assert fake.times(chat=PRIVATE) == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_a_hundred_chats_respect_thirty_per_second(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    await vt.run(*(bot.send_message(PRIVATE + i, "news") for i in range(100)))

    times = fake.times()
    assert len(times) == 100
    assert max_in_window(times, 1.0) == 30
    # Each batch of 30 leaves as soon as the oldest send of the previous one is 1 s old.
    assert times == [0.0] * 30 + [1.0] * 30 + [2.0] * 30 + [3.0] * 10
    # Only the bot-wide limit waited: once per batch, by the first request over the limit.
    assert vt.sleeps == [1.0, 1.0, 1.0]
    # First come, first served across chats.
    assert [c for _, _, c in fake.sent] == [PRIVATE + i for i in range(100)]


async def test_a_group_gets_at_most_twenty_messages_a_minute(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    await vt.run(*(bot.send_message(GROUP, f"m{i}") for i in range(25)))

    times = fake.times(chat=GROUP)
    # One per second (the per-chat limit), then the 21st waits until the first is a minute old.
    assert times == [float(t) for t in range(20)] + [60.0, 61.0, 62.0, 63.0, 64.0]
    assert max_in_window(times, 60.0) == 20
    assert max_in_window(times, 1.0) == 1


async def test_chat_actions_do_not_hold_the_reply(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    async def typing_then_reply() -> None:
        await bot.send_chat_action(PRIVATE, "typing")
        await bot.send_message(PRIVATE, "answer")

    await vt.run(typing_then_reply())

    assert [(t, m) for t, m, _ in fake.sent] == [(0.0, "sendChatAction"), (0.0, "sendMessage")]


async def test_answer_callback_query_is_not_delayed_by_pacing(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    queries = [fake.issue_callback_query() for _ in range(2)]

    async def press_after_two_messages() -> None:
        await vt.pause(0.5)  # chat PRIVATE's second message is waiting for t=1 now
        await bot.answer_callback_query(queries[0])

    await vt.run(
        *(bot.send_message(PRIVATE, f"m{i}") for i in range(2)),
        # Fill the bot-wide window: the 31st message to a chat waits a second…
        *(bot.send_message(PRIVATE + 1 + i, "news") for i in range(30)),
        # …but the callback queries are answered at once.
        bot.answer_callback_query(queries[1]),
        press_after_two_messages(),
    )

    assert fake.times("answerCallbackQuery") == [0.0, 0.5]
    assert all(fake.queries.values())
    assert fake.times(chat=PRIVATE) == [0.0, 1.0]


# -- flood control (429) ---------------------------------------------------------------------


async def test_flood_control_waits_retry_after_and_pauses_every_chat(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    before = counters()
    fake.fail_next("sendMessage", status=429, retry_after=3)

    async def other_chat_during_pause() -> None:
        await vt.pause(1)
        await bot.send_message(PRIVATE + 1, "other")

    await vt.run(bot.send_message(PRIVATE, "hello"), other_chat_during_pause())

    assert fake.sent == [
        (0.0, "sendMessage", PRIVATE),  # 429
        (3.0, "sendMessage", PRIVATE),
        (3.0, "sendMessage", PRIVATE + 1),
    ]
    assert vt.sleeps == [3.0, 2.0]  # the flooded send waits 3 s; the other chat the rest
    assert fake.sent_texts(PRIVATE) == ["hello"]
    assert fake.sent_texts(PRIVATE + 1) == ["other"]
    assert delta(before, "finlit_flood_waits_total") == 1
    assert delta(before, "finlit_send_retries_total") == 1
    assert delta(before, "finlit_sends_total") == 2


async def test_flood_control_also_holds_unpaced_methods(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    query = fake.issue_callback_query()
    fake.fail_next("sendMessage", status=429, retry_after=2)

    async def press_during_pause() -> None:
        await vt.pause(0.5)
        await bot.answer_callback_query(query)

    await vt.run(bot.send_message(PRIVATE, "hello"), press_during_pause())

    assert fake.times("answerCallbackQuery") == [2.0]


async def test_flood_control_gives_up_after_max_retries(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    before = counters()
    fake.fail_next("sendMessage", status=429, retry_after=2, times=6)

    [error] = await vt.run(bot.send_message(PRIVATE, "hello"))

    assert isinstance(error, RetryAfter)
    assert fake.times() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]  # the first try and 5 retries
    assert vt.sleeps == [2.0] * 5
    assert delta(before, "finlit_flood_waits_total") == 6
    assert delta(before, "finlit_send_retries_total") == 5
    assert delta(before, "finlit_sends_total") == 0


async def test_retry_counts_can_be_set_per_call(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=2)
    fake.fail_next("sendMessage", status=502)

    [flood] = await vt.run(bot.send_message(PRIVATE, "a", rate_limit_args={"max_flood_retries": 0}))
    [network] = await vt.run(
        bot.send_message(PRIVATE, "b", rate_limit_args={"max_network_retries": 0})
    )

    assert isinstance(flood, RetryAfter)
    assert isinstance(network, NetworkError)
    assert len(fake.calls) == 2


# -- network errors and 5xx ----------------------------------------------------------------------


async def test_bad_gateway_is_retried_with_backoff(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    before = counters()
    fake.fail_next("sendMessage", status=502, times=2)

    await vt.run(bot.send_message(PRIVATE, "hello"))

    assert fake.times() == [0.0, 0.5, 1.5]
    assert vt.sleeps == [0.5, 1.0]
    assert fake.sent_texts(PRIVATE) == ["hello"]
    assert delta(before, "finlit_send_retries_total") == 2
    assert delta(before, "finlit_sends_total") == 1
    assert delta(before, "finlit_flood_waits_total") == 0


async def test_network_errors_give_up_after_max_retries(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    before = counters()
    fake.fail_next("sendMessage", status=None, times=5)

    [error] = await vt.run(bot.send_message(PRIVATE, "hello"))

    assert type(error) is NetworkError
    assert len(fake.calls_of("sendMessage")) == 5  # the first try and 4 retries
    assert vt.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert delta(before, "finlit_send_retries_total") == 4
    assert delta(before, "finlit_sends_total") == 0


async def test_backoff_is_capped(fake: TimedFake, vt: VirtualTime) -> None:
    limiter = make_limiter(vt, backoff_max=1.5, max_network_retries=5)
    async with ExtBot(TOKEN, request=fake, get_updates_request=fake, rate_limiter=limiter) as bot:
        fake.fail_next("sendMessage", status=503, times=5)
        await vt.run(bot.send_message(PRIVATE, "hello"))

    assert vt.sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]
    assert fake.sent_texts(PRIVATE) == ["hello"]


async def test_a_retried_message_is_not_overtaken_in_its_chat(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    fake.fail_next("sendMessage", status=None)

    await vt.run(bot.send_message(PRIVATE, "first"), bot.send_message(PRIVATE, "second"))

    assert fake.sent_texts(PRIVATE) == ["first", "second"]
    assert fake.times(chat=PRIVATE) == [0.0, 0.5, 1.5]


async def test_timed_out_is_retried(limiter: PacedRateLimiter, vt: VirtualTime) -> None:
    attempts: list[float] = []

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        attempts.append(vt.now)
        if len(attempts) == 1:
            raise TimedOut
        return True

    [result] = await vt.run(
        limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": PRIVATE}, None)
    )

    assert result is True
    assert attempts == [0.0, 0.5]


async def test_bad_request_is_not_retried(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    before = counters()

    [error] = await vt.run(bot.send_message(PRIVATE, "x" * 5000))

    assert isinstance(error, BadRequest)
    assert "too long" in str(error)
    assert len(fake.calls) == 1
    assert vt.sleeps == []
    assert delta(before, "finlit_send_retries_total") == 0


async def test_forbidden_is_not_retried(bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime) -> None:
    fake.block(PRIVATE)

    [error] = await vt.run(bot.send_message(PRIVATE, "hello"))

    assert isinstance(error, Forbidden)
    assert len(fake.calls) == 1
    assert vt.sleeps == []


# -- details -------------------------------------------------------------------------------------


async def test_logs_name_the_method_but_not_the_chat_or_text(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=1)
    fake.fail_next("sendMessage", status=502)
    with caplog.at_level(logging.DEBUG, logger="bot.telegram.ratelimit"):
        await vt.run(*(bot.send_message(PRIVATE, "secret balance 4711") for _ in range(3)))

    records = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.ratelimit"]
    assert any("sendMessage" in line and "flood control" in line for line in records)
    assert any("NetworkError" in line for line in records)
    assert not any(str(PRIVATE) in line or "4711" in line for line in records)


def test_retry_after_in_seconds_accepts_timedelta_and_numbers() -> None:
    assert _seconds(dtm.timedelta(seconds=3)) == 3.0
    assert _seconds(3) == 3.0
    assert _seconds(2.5) == 2.5


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="chat_max_rate"):
        PacedRateLimiter(chat_max_rate=-1)


async def test_zero_disables_a_limit(fake: TimedFake, vt: VirtualTime) -> None:
    limiter = make_limiter(vt, chat_max_rate=0)
    async with ExtBot(TOKEN, request=fake, get_updates_request=fake, rate_limiter=limiter) as bot:
        await vt.run(*(bot.send_message(PRIVATE, f"m{i}") for i in range(3)))

    assert fake.times() == [0.0, 0.0, 0.0]


async def test_string_chat_ids_share_the_chats_limits(
    bot: ExtBot[Any], fake: TimedFake, vt: VirtualTime
) -> None:
    await vt.run(bot.send_message(PRIVATE, "a"), bot.send_message(str(PRIVATE), "b"))

    assert [t for t, _, _ in fake.sent] == [0.0, 1.0]


async def test_idle_chats_are_forgotten(limiter: PacedRateLimiter, vt: VirtualTime) -> None:
    async def ok(*args: Any, **kwargs: Any) -> bool:
        return True

    def send(chat: int) -> Coroutine[Any, Any, Any]:
        return limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": chat}, None)

    await vt.run(*(send(PRIVATE + i) for i in range(1100)))  # 30 a second: 37 s
    vt.now += 60  # every chat's window has expired; the next request tidies up
    await vt.run(send(PRIVATE))

    assert list(limiter._chats) == [PRIVATE]


async def test_the_application_builder_accepts_it(fake: TimedFake) -> None:
    limiter = PacedRateLimiter()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(fake)
        .get_updates_request(fake)
        .rate_limiter(limiter)
        .build()
    )
    await app.initialize()
    try:
        assert app.bot.rate_limiter is limiter
        await app.bot.send_message(PRIVATE, "hello")  # first message: no wait on the real clock
        assert fake.sent_texts(PRIVATE) == ["hello"]
    finally:
        await app.shutdown()
