"""An update whose handling fails outside the handlers (the database briefly unavailable) is
tried again by the running process after a pause, not only at the next start; other residents
are served meanwhile; after the last pause it is left in the inbox and said so in the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from bot.telegram.dispatch import ResidentQueues


class Flaky:
    """A handler that fails the first ``failures`` tries of each update marked "flaky"."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tries: dict[str, int] = {}
        self.handled: list[str] = []

    async def __call__(self, update: str) -> None:
        self.tries[update] = self.tries.get(update, 0) + 1
        if update.startswith("flaky") and self.tries[update] <= self.failures:
            raise ConnectionError("database is locked")
        self.handled.append(update)


def queues(handle: Flaky, pauses: Sequence[float]) -> ResidentQueues[str]:
    async def settle(key: int, updates: Sequence[str]) -> None:
        raise AssertionError("nothing here is collapsible")

    async def reload(key: int, limit: int, exclude: set[int]) -> list[str]:
        return []

    return ResidentQueues(
        handle=handle,
        settle_collapsed=settle,
        reload=reload,
        identify=lambda update: 1 if update.startswith("flaky") else 2,
        collapsible=lambda update: False,
        slots=2,
        retry_pauses=pauses,
    )


async def test_a_failed_update_is_retried_by_the_running_process_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Flaky(failures=2)
    slots = queues(handler, pauses=(0.01, 0.02, 0.04))
    slots.start()
    try:
        slots.submit(1, "flaky-1")
        slots.submit(1, "flaky-2")  # behind it: waits for it, never overtakes
        slots.submit(2, "other")
        await asyncio.wait_for(slots.idle(), 5)
    finally:
        await slots.stop(1)
    assert handler.tries["flaky-1"] == 3
    assert handler.handled.index("flaky-1") < handler.handled.index("flaky-2")
    # Another resident is not held up by the failing one's pauses.
    assert handler.handled.index("other") < handler.handled.index("flaky-1")
    retries = [r for r in caplog.records if "try" in r.getMessage()]
    assert len(retries) >= 2 and all(r.levelno == logging.WARNING for r in retries)


async def test_after_the_last_pause_the_update_waits_for_the_next_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Flaky(failures=99)
    slots = queues(handler, pauses=(0.01, 0.01))
    slots.start()
    try:
        slots.submit(1, "flaky-1")
        slots.submit(1, "flaky-2")
        await asyncio.wait_for(slots.idle(), 5)
    finally:
        await slots.stop(1)
    assert handler.tries == {"flaky-1": 3, "flaky-2": 3}  # the first try, then one per pause
    assert handler.handled == []
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in given_up] == [
        "an update failed 3 times (ConnectionError); left in the inbox for the next start"
    ] * 2
    # The log names the error's type only: no update content, no resident.
    assert all("flaky" not in r.getMessage() for r in caplog.records)
