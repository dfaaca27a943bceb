"""What travels with a chat's claim between replicas (bot/telegram/sharing.py): a group's
20-a-minute window, so a group that one replica filled is not sent 20 more by the next."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.telegram.lanes import Lane
from bot.telegram.pacing import Limits, SlidingWindow, TokenBucket
from bot.telegram.sharing import SharedSending

GROUP = -1_001_234
RESIDENT = 4242
LIMITS = Limits.telegram()


def lane(chat_id: int) -> Lane:
    """A chat as the delivery engine keeps it (groups also count their minute)."""
    window = SlidingWindow(LIMITS.group, LIMITS.group_period) if chat_id < 0 else None
    bucket = TokenBucket(LIMITS.chat_burst, LIMITS.chat_period)
    return Lane(chat_id=chat_id, bucket=bucket, group=window)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SharedSending, SharedSending]]:
    """Two replicas' sharing on one database (a file here; the claims are the same statements
    on PostgreSQL, whose contract tests/store/test_replicas.py runs)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    a, b = await Store.open(url), await Store.open(url)
    try:
        await a.replicas.beat()
        await b.replicas.beat()
        yield (
            SharedSending(a.replicas, LIMITS, time.monotonic),
            SharedSending(b.replicas, LIMITS, time.monotonic),
        )
    finally:
        await a.close()
        await b.close()


def fill(chat: Lane, sends: list[float]) -> None:
    assert chat.group is not None
    for at in sends:
        chat.group.record(at)
        chat.bucket.take(at)


async def test_a_group_filled_by_one_replica_waits_its_minute_on_the_next(
    pair: tuple[SharedSending, SharedSending],
) -> None:
    a, b = pair
    held = lane(GROUP)
    assert await a.claim(held)
    now = time.monotonic()
    first = now - 30.0
    fill(held, [first + i for i in range(LIMITS.group)])  # 20 sends in the last 30 s
    assert await a.release(held)

    # Knowing nothing, b would send at once; with the claim it waits until the oldest of a's
    # sends has left the minute.
    taken = lane(GROUP)
    assert taken.ready_at(time.monotonic()) <= time.monotonic()
    assert await b.claim(taken)
    assert taken.ready_at(time.monotonic()) == pytest.approx(first + LIMITS.group_period, abs=0.05)


async def test_only_sends_inside_the_minute_travel_and_none_are_counted_twice(
    pair: tuple[SharedSending, SharedSending],
) -> None:
    a, b = pair
    mine = lane(GROUP)
    assert await a.claim(mine)
    now = time.monotonic()
    fill(mine, [now - 200.0, now - 100.0, now - 10.0])  # two are long out of the window
    assert await a.release(mine)

    theirs = lane(GROUP)
    assert await b.claim(theirs)
    assert theirs.group is not None
    assert list(theirs.group.times) == pytest.approx([now - 10.0], abs=0.05)
    theirs.group.record(now - 5.0)
    theirs.bucket.take(now - 5.0)
    assert await b.release(theirs)

    # a takes the group back: b's list already holds a's send, so a counts two, not three.
    assert await a.claim(mine)
    assert mine.group is not None
    assert list(mine.group.times) == pytest.approx([now - 10.0, now - 5.0], abs=0.05)


async def test_a_private_chat_hands_on_no_group_window(
    pair: tuple[SharedSending, SharedSending],
) -> None:
    a, b = pair
    chat = lane(RESIDENT)
    assert await a.claim(chat)
    chat.bucket.take(time.monotonic())
    assert await a.release(chat)
    pacing = await b.replicas.claim_chat(chat_id=RESIDENT)
    assert pacing is not None and pacing.group_sends == () and pacing.tokens is not None
