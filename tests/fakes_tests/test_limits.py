"""Telegram's flood limits, and the fake that enforces them."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, RetryAfter

from tests.fakes.limits import LimitedTelegram, Refusal, TelegramLimits

# --------------------------------------------------------------------------- Telegram's limits


def accepted_at(limits: TelegramLimits, sends: list[tuple[int, float]]) -> list[float]:
    """When each of ``sends`` (chat, time) was accepted; refused ones are left out."""
    return [now for chat, now in sends if limits.check(chat, now) is None]


def test_overall_limit_is_a_sliding_window_not_a_full_bucket() -> None:
    limits = TelegramLimits.telegram()
    # Two seconds of 100 messages a second, each to a chat of its own.
    times = accepted_at(limits, [(1000 + i, i / 100) for i in range(200)])
    assert len(times) == 60  # 30 in [0, 1) and 30 more in [1, 2), never 60 in one second
    assert times[:30] == [i / 100 for i in range(30)] and times[30] == 1.0
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest == 30
    assert limits.refused == {"overall": 140}


def test_overall_refusal_gives_the_time_until_a_slot_frees_rounded_up() -> None:
    limits = TelegramLimits(2, 10, 5.0)
    assert limits.check(1, 0.0) is None and limits.check(2, 0.2) is None
    assert limits.check(3, 1.5) == Refusal("overall", 4)  # the slot of 0.0 frees at 5.0
    assert limits.check(3, 4.5) == Refusal("overall", 1)
    assert limits.check(3, 5.0) is None


def test_per_chat_bucket_allows_a_burst_of_three_then_one_a_second() -> None:
    limits = TelegramLimits.telegram()
    assert [limits.check(7, 0.0) for _ in range(3)] == [None, None, None]
    assert limits.check(7, 0.0) == Refusal("per chat", 1)
    assert limits.check(8, 0.0) is None  # another chat is not held up
    assert limits.check(7, 0.5) == Refusal("per chat", 1)
    assert limits.check(7, 1.0) is None
    assert limits.check(7, 1.2) == Refusal("per chat", 1)
    assert limits.check(7, 2.0) is None
    # Idle for a long time: the bucket is full again, but never fuller than three.
    assert accepted_at(limits, [(7, 100.0)] * 5) == [100.0] * 3


def test_group_limit_twenty_a_minute_on_top_of_the_chat_limit() -> None:
    limits = TelegramLimits.telegram()
    group = -100200
    assert accepted_at(limits, [(group, float(t)) for t in range(20)]) == [
        float(t) for t in range(20)
    ]
    assert limits.check(group, 20.0) == Refusal("per group", 40)  # the slot of 0.0 frees at 60
    assert limits.check(group, 59.5) == Refusal("per group", 1)
    assert limits.check(group, 60.0) is None
    assert accepted_at(limits, [(1, 0.0)] * 3) == [0.0] * 3  # private chats: no such limit


def test_older_benchmarks_limits_are_unchanged() -> None:
    limits = TelegramLimits(30, 1, 0.9)
    assert limits.refuse(1, 0.0) == ""
    assert limits.refuse(1, 0.5) == "per chat"
    assert limits.refuse(1, 0.9) == ""
    assert [limits.refuse(100 + i, 1.0) for i in range(30)].count("overall") == 1
    assert limits.check(500, 1.1) == Refusal("overall", 1)


def test_calls_repeated_before_retry_after_are_counted_per_chat() -> None:
    limits = TelegramLimits.telegram()
    accepted_at(limits, [(7, 0.0)] * 3)
    assert limits.check(7, 0.0) == Refusal("per chat", 1)  # told: retry after 1 s
    assert limits.repeats == {}
    assert limits.check(7, 0.4) == Refusal("per chat", 1)  # too early; now told: until 1.4
    assert limits.check(8, 0.4) is None  # another chat was told nothing
    assert limits.check(7, 1.4) is None  # on time
    assert limits.repeats == {7: 1}

    limits = TelegramLimits(1, 10, 1.0)
    assert limits.check(1, 0.0) is None
    assert limits.check(2, 0.1) == Refusal("overall", 1)  # the bot-wide limit: every chat waits
    assert limits.check(3, 0.5) == Refusal("overall", 1)  # too early; now: until 1.5
    assert limits.check(3, 1.5) is None
    assert limits.repeats == {3: 1} and limits.repeated == 1


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
async def limited(clock: list[float]) -> AsyncIterator[tuple[Bot, LimitedTelegram]]:
    fake = LimitedTelegram(clock=lambda: clock[0])
    bot = Bot("123:ABC", request=fake, get_updates_request=fake)
    await bot.initialize()
    yield bot, fake
    await bot.shutdown()


async def test_limited_fake_answers_429_with_retry_after(
    limited: tuple[Bot, LimitedTelegram], clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    bot, fake = limited
    group = -100300
    for _ in range(3):
        await bot.send_message(group, "hi")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(group, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert fake.calls[-1].error == "Too Many Requests: retry after 1"
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("changed", group, 1)  # edits count too
    assert fake.limits.repeats == {group: 1}
    for _ in range(40):
        await bot.send_chat_action(group, "typing")  # not a message: never limited
    clock[0] += 1
    await bot.send_message(group, "later")
    assert [refusal for _, _, refusal in fake.too_many] == [Refusal("per chat", 1)] * 2
    assert fake.sent_texts(group) == ["hi", "hi", "hi", "later"]


async def test_limited_fake_refuses_answers_after_fifteen_seconds(
    limited: tuple[Bot, LimitedTelegram], clock: list[float]
) -> None:
    bot, fake = limited
    fresh, stale = fake.issue_callback_query(), fake.issue_callback_query()
    clock[0] += 15
    assert await bot.answer_callback_query(fresh) is True
    clock[0] += 0.5
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(stale)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(stale)  # forgotten: no second chance
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(fresh)  # answered twice: refused, but not for its age
    assert fake.too_old == 1
    assert fake.too_many == []  # answers are not messages
