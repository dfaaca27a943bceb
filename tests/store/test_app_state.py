"""Application state (``store.state``), on every backend."""

from __future__ import annotations

import datetime as dt

from bot.store import Store
from tests.store.conftest import Clock


class TestAppState:
    """Keyed values set once, and a group's note claimed at most once per period."""

    async def test_set_once_keeps_the_first_value_until_purged(self, store: Store) -> None:
        assert await store.state.get("secret") is None
        assert await store.state.set_once("secret", "first") == "first"
        assert await store.state.set_once("secret", "second") == "first"
        assert await store.state.get("secret") == "first"
        assert await store.state.purge(key="secret")
        assert not await store.state.purge(key="secret")
        assert await store.state.get("secret") is None

    async def test_a_group_note_is_claimed_once_per_period(
        self, store: Store, clock: Clock
    ) -> None:
        hour = dt.timedelta(hours=1)
        assert await store.state.claim_group_note(chat_id=-100, every=hour)
        assert not await store.state.claim_group_note(chat_id=-100, every=hour)
        assert await store.state.claim_group_note(chat_id=-200, every=hour)
        clock.advance(hour + dt.timedelta(minutes=1))
        assert await store.state.claim_group_note(chat_id=-100, every=hour)
