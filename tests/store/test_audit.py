"""The administrators' audit log (``store.audit``), on every backend."""

from __future__ import annotations

import datetime as dt

from bot.store import Store
from tests.store.conftest import Clock


class TestAuditLog:
    """What administrators did, newest first, kept for its retention period."""

    async def test_recorded_listed_newest_first_and_purged(
        self, store: Store, clock: Clock
    ) -> None:
        await store.audit.record(admin_id=9, action="stats", detail="x" * 300)
        clock.advance(dt.timedelta(days=10))
        await store.audit.record(admin_id=8, action="export")
        recent = await store.audit.recent()
        assert [(row["admin_id"], row["action"]) for row in recent] == [(8, "export"), (9, "stats")]
        assert len(recent[1]["detail"]) == 256 and isinstance(recent[1]["at"], str)
        assert [row["action"] for row in await store.audit.recent(limit=1)] == ["export"]
        assert await store.audit.purge(older_than=dt.timedelta(days=5)) == 1
        assert [row["action"] for row in await store.audit.recent()] == ["export"]
