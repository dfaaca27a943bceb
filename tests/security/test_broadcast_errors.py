"""When the broadcast worker fails, the log says what went wrong (not just the error's type),
/metrics counts it, and the worker carries on."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.telegram.metrics import METRICS
from tests.conftest import Harness


async def test_a_failing_broadcast_worker_logs_the_error_and_counts_it(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bot.app is not None
    worker = bot.app.bot_data.broadcasts
    assert worker is not None
    failures = 0

    async def failing_drain(*, limit: int | None = None) -> int:
        nonlocal failures
        failures += 1
        raise RuntimeError("database is locked")

    monkeypatch.setattr(worker, "drain", failing_drain)
    before = METRICS.counters["finlit_broadcast_errors_total"]
    with caplog.at_level(logging.ERROR, logger="bot.telegram.broadcast"):
        for expected in (1, 2):  # it carries on: a second wake fails again, and is counted
            worker.wake()
            for _ in range(200):
                if (
                    failures >= expected
                    and METRICS.counters["finlit_broadcast_errors_total"] >= before + expected
                ):
                    break
                await asyncio.sleep(0.01)
    assert METRICS.counters["finlit_broadcast_errors_total"] == before + 2
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.broadcast"]
    assert logged == ["broadcast worker: RuntimeError: database is locked; will try again"] * 2
