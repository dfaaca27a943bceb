"""The delivery engine on virtual time: Telegram's limits, fairness, priorities, errors, economy.

Each test queues messages in a real store's outbox (SQLite in a temporary directory), lets the
engine send them to the fake Bot API and reads back *when* each call arrived, on a virtual clock
that jumps to the next wake-up: schedules are exact and the tests take no wall time.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.error import NetworkError
from telegram.ext import ExtBot
from telegram.request import RequestData

from bot.store import Store
from bot.telegram.delivery import DeliveryEngine
from bot.telegram.lanes import BULK, INTERACTIVE
from bot.telegram.metrics import METRICS
from bot.telegram.pacing import Limits
from bot.telegram.retry import MAX_ATTEMPTS
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import VirtualTime

os.environ.setdefault("PTB_TIMEDELTA", "true")

TOKEN = "123:ABC"
# Round numbers: 30 a second overall, a burst of 3 then one a second per chat, 20 a minute.
LIMITS = Limits(overall_period=1.0, chat_period=1.0, group_period=60.0)


class TimedFake(FakeTelegram):
    """FakeTelegram that notes the virtual time of every request: (time, method, chat)."""

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

    def order(self, method: str = "sendMessage") -> list[Any]:
        return [c for _, m, c in self.sent if m == method]


class Rig:
    """An engine, its store and the fake, on one virtual clock."""

    def __init__(self, vt: VirtualTime, fake: TimedFake, store: Store, bot: ExtBot[Any]) -> None:
        self.vt, self.fake, self.store, self.bot = vt, fake, store, bot
        self.engine = self.make_engine(LIMITS)

    def make_engine(self, limits: Limits) -> DeliveryEngine:
        return DeliveryEngine(
            self.bot, self.store, limits=limits, clock=self.vt.clock, sleep=self.vt.sleep
        )

    async def queue(
        self, chat_id: int, text: str, *, edit: int | None = None, priority: int = INTERACTIVE
    ) -> int:
        item: dict[str, Any] = {"kind": "text", "text": text, "keyboard": []}
        if edit is not None:
            item["edit"] = edit
        return await self.store.outbox.add(chat_id=chat_id, payload=item, priority=priority)

    async def deliver(self, *chats: tuple[int, int]) -> None:
        """Tell the engine about chats (chat, priority) and run until it is idle."""
        for chat, priority in chats:
            self.engine.notify(chat, priority)
        await self.vt.run(self.engine.idle())

    def chat(self, chat_id: int) -> None:
        self.fake.add_chat(chat_id, chat_type="private" if chat_id > 0 else "group", title="G")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    vt = VirtualTime()
    fake = TimedFake(vt)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/delivery.db")
    bot: ExtBot[Any] = ExtBot(TOKEN, request=fake, get_updates_request=fake)
    await bot.initialize()
    fake.reset_calls()
    fake.sent.clear()
    rig = Rig(vt, fake, store, bot)
    await rig.engine.start()
    yield rig
    await rig.engine.stop(flush_seconds=0)
    await bot.shutdown()
    await store.close()


def max_in_window(times: list[float], period: float) -> int:
    """The most sends in any half-open window [t, t + period)."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t <= u < t + period) for t in ordered)


# -- Telegram's limits ---------------------------------------------------------------------------


async def test_a_chat_gets_a_burst_of_three_then_one_a_second(rig: Rig) -> None:
    rig.chat(1)
    for n in range(6):
        await rig.queue(1, f"message {n}")
    await rig.deliver((1, INTERACTIVE))
    # The burst leaves evenly spaced (one thirtieth of a second apart), then one a second.
    assert rig.fake.times(chat=1) == pytest.approx([0, 1 / 30, 2 / 30, 1, 2, 3])
    assert [m.text for m in rig.fake.messages[1].values()] == [f"message {n}" for n in range(6)]


async def test_never_more_than_thirty_in_any_second(rig: Rig) -> None:
    for chat in range(1, 101):
        rig.chat(chat)
        await rig.queue(chat, "hello")
    await rig.deliver(*((chat, INTERACTIVE) for chat in range(1, 101)))
    times = rig.fake.times()
    assert len(times) == 100
    assert max_in_window(times, 1.0) == 30
    # Evenly spaced, never in bursts: one every thirtieth of a second.
    gaps = [b - a for a, b in itertools.pairwise(sorted(times))]
    assert min(gaps) == pytest.approx(1 / 30)
    assert max(times) == pytest.approx(99 / 30)


async def test_a_group_gets_twenty_a_minute(rig: Rig) -> None:
    rig.chat(-5)
    for n in range(22):
        await rig.queue(-5, f"group {n}")
    await rig.deliver((-5, INTERACTIVE))
    times = rig.fake.times(chat=-5)
    assert len(times) == 22
    assert max_in_window(times, 60.0) == 20
    assert times[20] == pytest.approx(60.0)


# -- fairness and priorities --------------------------------------------------------------------


async def test_a_long_queue_in_one_chat_does_not_hold_up_another(rig: Rig) -> None:
    """Round-robin: a chat with many messages takes one turn per round like everyone else."""
    slow = rig.make_engine(Limits(overall=1, overall_period=1.0, chat_burst=0))
    await rig.engine.stop(flush_seconds=0)
    rig.engine = slow
    await slow.start()
    rig.chat(1)
    rig.chat(2)
    for n in range(5):
        await rig.queue(1, f"long {n}")
    slow.notify(1)
    await rig.queue(2, "short")
    slow.notify(2)
    await rig.vt.run(slow.idle())
    assert rig.fake.order()[:3] == [1, 2, 1]  # the short one goes in the first round


async def test_residents_replies_go_before_bulk_messages(rig: Rig) -> None:
    """With room for one message a second, replies to residents never wait behind a broadcast."""
    slow = rig.make_engine(Limits(overall=1, overall_period=1.0, chat_burst=0))
    await rig.engine.stop(flush_seconds=0)
    rig.engine = slow
    await slow.start()
    for chat in range(1, 7):
        rig.chat(chat)

    async def broadcast(chat: int) -> Any:
        async def call() -> Any:
            return await rig.bot.send_message(chat, "announcement")

        return await slow.send(chat, call, priority=BULK)

    async def lecture() -> None:
        await asyncio.sleep(0)  # the broadcast is queued first
        for chat in (4, 5, 6):
            await rig.queue(chat, "reply")
            slow.notify(chat, INTERACTIVE)

    await rig.vt.run(*(broadcast(c) for c in (1, 2, 3)), lecture(), slow.idle())
    texts = [(t, c) for t, m, c in rig.fake.sent if m == "sendMessage"]
    last_reply = max(t for t, c in texts if c in (4, 5, 6))
    # At most the one broadcast message already granted before the replies were queued.
    assert sum(1 for t, c in texts if c in (1, 2, 3) and t < last_reply) <= 1
    assert len(texts) == 6


# -- errors ---------------------------------------------------------------------------------------


async def test_a_429_at_a_chats_own_limit_pauses_only_that_chat(rig: Rig) -> None:
    rig.chat(1)
    rig.chat(2)
    before = METRICS.counters["finlit_flood_waits_total"]
    # The third message of a burst leaves the chat with nothing to spare: a 429 on it is
    # about the chat.
    rig.fake.fail_next("sendMessage", status=429, retry_after=5, chat_id=1, skip=2)
    for n in range(3):
        await rig.queue(1, f"one {n}")
    rig.engine.notify(1)
    await rig.vt.run(rig.vt.pause(0.5))
    await rig.queue(2, "two")
    await rig.deliver((2, INTERACTIVE))
    assert rig.fake.times(chat=2) == pytest.approx([0.5])
    times = rig.fake.times(chat=1)
    assert times[3] - times[2] >= 5.0  # never repeated before retry_after
    assert METRICS.counters["finlit_flood_waits_total"] == before + 1


async def test_a_429_a_chat_cannot_have_caused_pauses_every_send(rig: Rig) -> None:
    """A chat's first message in a while draws a 429: it was the bot's limit, not the chat's,
    so nothing at all goes until retry_after has passed."""
    for chat in (1, 2):
        rig.chat(chat)
    rig.fake.fail_next("sendMessage", status=429, retry_after=4, chat_id=1)
    await rig.queue(1, "first")
    rig.engine.notify(1)
    await rig.vt.run(rig.vt.pause(0.1))
    await rig.queue(2, "innocent")
    await rig.deliver((2, INTERACTIVE))
    assert rig.fake.times(chat=2)[0] >= 4.0
    assert rig.fake.times(chat=1)[1] >= 4.0


async def test_429s_from_three_chats_within_a_second_pause_every_send(rig: Rig) -> None:
    for chat in (1, 2, 3, 4):
        rig.chat(chat)
    for chat in (1, 2, 3):  # each at its own limit: the third message of a burst
        rig.fake.fail_next("sendMessage", status=429, retry_after=4, chat_id=chat, skip=2)
        for n in range(3):
            await rig.queue(chat, f"flooded {n}")
    for chat in (1, 2, 3):
        rig.engine.notify(chat)
    await rig.vt.run(rig.vt.pause(0.5))
    await rig.queue(4, "innocent")
    await rig.deliver((4, INTERACTIVE))
    assert rig.fake.times(chat=4)[0] >= 4.0  # the whole bot waited


async def test_network_errors_are_retried_with_backoff_then_given_up(rig: Rig) -> None:
    rig.chat(1)
    rig.fake.fail_next("sendMessage", status=502, times=MAX_ATTEMPTS, chat_id=1)
    await rig.queue(1, "doomed")
    await rig.queue(1, "next")
    await rig.deliver((1, INTERACTIVE))
    attempts = rig.fake.times(chat=1)
    assert len(attempts) == MAX_ATTEMPTS + 1  # eight refused tries, then "next" goes
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(attempts)]
    assert gaps[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert [m.text for m in rig.fake.messages[1].values()] == ["next"]
    assert await rig.store.outbox.pending() == []


async def test_forbidden_marks_the_chat_blocked_and_drops_its_queue(rig: Rig) -> None:
    await rig.store.residents.ensure(resident_id=7, language="en")
    rig.chat(7)
    rig.fake.block(7)
    for n in range(3):
        await rig.queue(7, f"to a blocked chat {n}")
    await rig.deliver((7, INTERACTIVE))
    assert len(rig.fake.times(chat=7)) == 1  # tried once, then nothing more
    assert await rig.store.residents.is_blocked(resident_id=7)
    assert await rig.store.outbox.pending() == []


async def test_an_edit_telegram_cannot_apply_is_sent_as_a_new_message(rig: Rig) -> None:
    rig.chat(1)
    await rig.queue(1, "new screen", edit=424242)  # no such message
    await rig.deliver((1, INTERACTIVE))
    assert [m for _, m, _ in rig.fake.sent] == ["editMessageText", "sendMessage"]
    assert [m.text for m in rig.fake.messages[1].values()] == ["new screen"]


async def test_a_one_off_send_is_tried_once(rig: Rig) -> None:
    rig.chat(1)
    rig.fake.fail_next("sendMessage", status=502, chat_id=1)

    async def call() -> Any:
        return await rig.bot.send_message(1, "at most once")

    (outcome,) = await rig.vt.run(rig.engine.send(1, call))
    assert isinstance(outcome, NetworkError)
    assert len(rig.fake.times(chat=1)) == 1


# -- economy --------------------------------------------------------------------------------------


async def test_queued_edits_of_one_message_send_only_the_newest(rig: Rig) -> None:
    rig.chat(1)
    await rig.queue(1, "card 1")
    await rig.deliver((1, INTERACTIVE))
    (message_id,) = rig.fake.messages[1]
    before = METRICS.counters["finlit_edits_coalesced_total"]
    for n in (2, 3, 4):
        await rig.queue(1, f"card {n}", edit=message_id)
    await rig.deliver((1, INTERACTIVE))
    assert [m for _, m, _ in rig.fake.sent] == ["sendMessage", "editMessageText"]
    assert rig.fake.messages[1][message_id].text == "card 4"
    assert METRICS.counters["finlit_edits_coalesced_total"] == before + 2


async def test_an_edit_identical_to_what_the_chat_shows_is_not_sent(rig: Rig) -> None:
    rig.chat(1)
    await rig.queue(1, "the menu")
    await rig.deliver((1, INTERACTIVE))
    (message_id,) = rig.fake.messages[1]
    before = METRICS.counters["finlit_edits_unchanged_total"]
    await rig.queue(1, "the menu", edit=message_id)
    await rig.deliver((1, INTERACTIVE))
    assert [m for _, m, _ in rig.fake.sent] == ["sendMessage"]
    assert METRICS.counters["finlit_edits_unchanged_total"] == before + 1
    assert await rig.store.outbox.pending() == []


# -- lifecycle ------------------------------------------------------------------------------------


async def test_what_a_stop_leaves_is_sent_by_the_next_start(rig: Rig) -> None:
    rig.chat(1)
    for n in range(5):
        await rig.queue(1, f"message {n}")
    await rig.deliver()  # nobody told this engine: as if another process had queued them
    assert rig.fake.sent == []
    fresh = rig.make_engine(LIMITS)
    await fresh.start()  # a start scans the outbox
    await rig.vt.run(fresh.idle())
    await fresh.stop(flush_seconds=0)
    assert len(rig.fake.times(chat=1)) == 5
