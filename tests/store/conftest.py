"""The store's contract fixtures: one store per test on every backend, with a clock to move."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.backends import BACKENDS, PostgresDatabases, backend_database


class Clock:
    """The store's clock: the real time, moved on by ``advance``."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, by: dt.timedelta) -> None:
        self.offset += by


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases
) -> Iterator[tuple[str, bool]]:
    yield from backend_database(request.param, tmp_path, postgres_databases)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url: tuple[str, bool], clock: Clock) -> AsyncIterator[Store]:
    url, inline = store_url
    store = await Store.open(url, clock=clock, inline=inline)
    yield store
    await store.close()
