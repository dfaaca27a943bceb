"""Fixtures of the fakes' own tests: a fresh fake and a PTB ``Bot`` talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from tests.fakes.bot_api import FakeTelegram


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A PTB Bot on the fake (here, not the running finlit of tests/conftest.py)."""
    bot = Bot("123:ABC", request=fake, get_updates_request=fake)
    await bot.initialize()
    yield bot
    await bot.shutdown()
