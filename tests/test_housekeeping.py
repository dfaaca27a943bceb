"""The hourly retention pass: every purge runs, in batches, and the bot keeps serving."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.housekeeping import INBOX_MEMORY, Housekeeping
from bot.settings import Settings
from bot.store import Store

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


async def test_one_pass_forgets_what_is_past_its_retention(tmp_path: Path) -> None:
    now = [START]
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/h.db", clock=lambda: now[0])
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/h.db")
    try:
        await store.residents.ensure(resident_id=1, language="zh")  # never agreed
        await store.residents.ensure(resident_id=2, language="zh")
        await store.residents.give_consent(resident_id=2)
        await store.inbox.accept([{"update_id": 5, "message": {"from": {"id": 2}}}])
        await store.inbox.finish(update_id=5)
        await store.audit.record(admin_id=9, action="stats")
        now[0] = (
            START + INBOX_MEMORY + dt.timedelta(days=max(30, settings.unconsented_retention_days))
        )
        removed = await Housekeeping(store, settings).run_once()
        assert removed["inbox"] == 1
        assert removed["unconsented residents"] == 1
        assert await store.residents.get(resident_id=1) is None
        assert await store.residents.get(resident_id=2) is not None  # consented: kept
        assert removed["audit log"] == 0  # a year's retention
        now[0] = START + dt.timedelta(days=settings.audit_retention_days + 1)
        assert (await Housekeeping(store, settings).run_once())["audit log"] == 1
    finally:
        await store.close()
