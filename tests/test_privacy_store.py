"""What is stored about a resident: all of it in /mydata, none of it after /forget, no longer than
needed, and never quoted in an error message."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.store import Store
from bot.store import db as store_db
from bot.store.privacy import PERSON_COLUMNS, PRIVACY_EXEMPT, resident_columns
from bot.store.schema import (
    admin_audit,
    app_state,
    broadcasts,
    exports,
    inbox,
    metadata,
    outbox,
    residents,
)
from tests.fakes.clock import StillClock

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> StillClock:
    return StillClock(START)


@pytest.fixture(params=["inline", "asyncio"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: StillClock
) -> AsyncIterator[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path}/privacy.db"
    store = await Store.open(url, clock=clock, inline=request.param == "inline")
    yield store
    await store.close()


async def queue_message(store: Store, chat_id: int, text: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.insert(outbox).values(
                chat_id=chat_id,
                payload=json.dumps({"kind": "text", "text": text}),
                created_at=START,
            )
        )


async def learner(store: Store, resident_id: int, *, cohort_id: int) -> None:
    """A resident with a row in every table that can hold one of theirs."""
    await store.residents.ensure(resident_id=resident_id, language="zh")
    await store.residents.give_consent(resident_id=resident_id)
    await store.lessons.open_card(resident_id=resident_id, lesson_id="a", card_index=0)
    attempt = await store.quizzes.start(
        resident_id=resident_id, lesson_id="a", question_ids=["q1"], kind="full"
    )
    await store.quizzes.record_answer(attempt=attempt, position=0, option_index=0, correct=True)
    sitting = await store.checkups.start(resident_id=resident_id, kind="baseline", item_ids=["k1"])
    await store.checkups.record_answer(sitting=sitting, position=0, option_index=None, points=0)
    await store.cohorts.join(resident_id=resident_id, cohort_id=cohort_id)
    await queue_message(store, resident_id, f"an undelivered /mydata for {resident_id}")
    # The fraud tools (issue 16): a loan calculator half-way, and a drill answered.
    await store.loans.start(resident_id=resident_id, step="received")
    await store.drills.record(
        resident_id=resident_id, drill_id="police-safe-account", answer="scam", correct=True
    )
    # The scam-message checker waiting for the message to check (never the message itself).
    await store.checks.wait_for_message(resident_id=resident_id)
    # An export waiting for their chat (an administrator can be a resident too).
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(exports).values(chat_id=resident_id, created_at=START))


async def test_mydata_and_forget_cover_every_table_with_a_resident(store: Store) -> None:
    cohort = await store.cohorts.create(code="dawa000001", name="Dawa", created_by=9)
    for resident_id in (1, 2):
        await learner(store, resident_id, cohort_id=cohort.id)
        # An update of theirs still waiting to be handled, and a replica's claim on their chat.
        waiting = {"update_id": 500 + resident_id, "message": {"text": "forget me"}}
        await store.inbox.accept([waiting], residents=[resident_id])
        assert await store.replicas.claim_chat(chat_id=resident_id) is not None
    draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="hello")
    assert await store.broadcasts.start(broadcast_id=draft.id) is not None

    covered = {column.table.name for column in resident_columns()}
    exported = await store.privacy.export(resident_id=1)
    assert set(exported) == covered
    # The latest answers and the queued messages were once left out; every table has a row.
    assert {name for name, rows in exported.items() if len(rows) != 1} == set()
    assert exported["latest_answers"][0]["question_id"] == "q1"
    assert exported["outbox"][0]["payload"]["text"] == "an undelivered /mydata for 1"
    json.dumps(exported)  # JSON-ready as it is

    await store.privacy.forget(resident_id=1)
    assert {
        name: len(rows) for name, rows in (await store.privacy.export(resident_id=1)).items()
    } == {name: 0 for name in covered}
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.select(outbox.c.chat_id))).scalars().all() == [2]
    kept = await store.privacy.export(resident_id=2)
    assert {name for name, rows in kept.items() if len(rows) != 1} == set()


def person_columns(table: sa.Table) -> list[str]:
    return [
        column.name
        for column in table.columns
        if column.name in PERSON_COLUMNS
        or any(fk.column.table.name == "residents" for fk in column.foreign_keys)
    ]


def test_every_table_naming_a_person_is_covered_or_exempt_with_a_reason() -> None:
    covered = {column.table.name for column in resident_columns()}
    exempt = dict(PRIVACY_EXEMPT)
    assert covered.isdisjoint(exempt)
    assert set(exempt) <= set(metadata.tables), "an exemption for a table that is gone"
    assert all(len(reason) > 20 for reason in exempt.values())
    for table in metadata.sorted_tables:
        if table.name == "residents" or person_columns(table):
            assert table.name in covered | set(exempt), f"{table.name}: neither covered nor exempt"


def test_a_new_table_with_a_resident_column_is_covered_without_listing_it() -> None:
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    sa.Table(
        "certificates",
        copy,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resident_id", sa.BigInteger, sa.ForeignKey("residents.id"), nullable=False),
        sa.Column("display_name", sa.String(64)),
    )
    columns = resident_columns(copy)
    names = [column.table.name for column in columns]
    assert "certificates" in names
    # Parents first: deleting in reverse removes certificates before residents.
    assert names.index("residents") < names.index("certificates")
    assert names.index("quiz_attempts") < names.index("answers")


# Errors never quote residents' data


async def test_a_failing_statement_logs_no_resident_text(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "我的银行卡密码是 123456"
    await store.state.set_once("note", secret)
    log = logging.getLogger("finlit.test")
    for where in ("store", "engine"):
        with pytest.raises(sa.exc.IntegrityError) as failure:
            if where == "store":
                # The store's own connection (inline on SQLite): a duplicate key fails.
                async with store.unit_of_work() as conn:
                    await conn.execute(sa.insert(app_state).values(key="note", value=secret))
            else:
                async with store.engine.begin() as conn:
                    await conn.execute(sa.insert(app_state).values(key="note", value=secret))
        log.error("statement failed", exc_info=failure.value)
        assert secret not in str(failure.value)
    assert "hidden" in caplog.text
    assert secret not in caplog.text and "123456" not in caplog.text


def test_every_engine_hides_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = store_db.create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    twin = store_db.inline_twin(engine)
    assert twin is not None
    assert engine.sync_engine.hide_parameters and twin.hide_parameters
    seen: dict[str, Any] = {}

    def fake_engine(url: str, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(store_db, "create_async_engine", fake_engine)
    store_db.create_engine("postgresql+asyncpg://finlit@db/finlit")
    assert seen.get("hide_parameters") is True


# Retention


async def test_residents_who_never_consent_are_pruned_after_the_retention_period(
    store: Store, clock: StillClock
) -> None:
    cohort = await store.cohorts.create(code="dawa000002", name="Dawa", created_by=9)
    await learner(store, 1, cohort_id=cohort.id)  # consented
    await store.residents.ensure(resident_id=2, language="zh")  # read the notice, never agreed
    await store.cohorts.hold_code(resident_id=2, code="dawa000002")
    await queue_message(store, 2, "privacy notice")
    waiting = {"update_id": 70, "message": {"from": {"id": 2}, "chat": {"id": 2}, "text": "hi"}}
    other = {"update_id": 71, "callback_query": {"from": {"id": 1}, "data": "x"}}
    assert await store.inbox.accept([waiting, other]) == [waiting, other]
    clock.now = START + dt.timedelta(days=20)
    await store.residents.ensure(resident_id=3, language="en")  # new, never agreed, recent

    clock.now = START + dt.timedelta(days=31)
    assert await store.privacy.purge_unconsented(older_than=dt.timedelta(days=30)) == 1
    assert await store.residents.get(resident_id=2) is None
    assert {k: len(v) for k, v in (await store.privacy.export(resident_id=2)).items()} == {
        k: 0 for k in (await store.privacy.export(resident_id=2))
    }
    assert await store.residents.get(resident_id=1) is not None
    assert await store.residents.get(resident_id=3) is not None
    assert await store.inbox.pending() == [other]
    assert await store.privacy.purge_unconsented(older_than=dt.timedelta(days=30)) == 0


async def test_purges_keep_each_table_only_for_its_retention(
    store: Store, clock: StillClock
) -> None:
    cohort = await store.cohorts.create(code="dawa000003", name="Dawa", created_by=9)
    for resident_id in (1, 2):
        await learner(store, resident_id, cohort_id=cohort.id)
    await store.audit.record(admin_id=9, action="stats", detail="")
    old = await store.broadcasts.create(admin_id=9, cohort_id=None, text="old news")
    await store.broadcasts.start(broadcast_id=old.id)
    for resident_id in (1, 2):
        assert await store.broadcasts.claim(broadcast_id=old.id, resident_id=resident_id)
        await store.broadcasts.settle(broadcast_id=old.id, resident_id=resident_id, status="sent")
    assert await store.broadcasts.finish(broadcast_id=old.id)
    forgotten_draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="draft")

    clock.now = START + dt.timedelta(days=40)
    await store.audit.record(admin_id=9, action="export", detail="")
    recent = await store.broadcasts.create(admin_id=9, cohort_id=None, text="new news")
    await store.broadcasts.start(broadcast_id=recent.id)  # still sending

    # Deliveries go after 30 days; the broadcast keeps its counters.
    assert await store.broadcasts.purge_deliveries(older_than=dt.timedelta(days=30)) == 2
    assert await store.broadcasts.delivery_status(broadcast_id=old.id) == {}
    kept = await store.broadcasts.get(broadcast_id=old.id)
    assert kept is not None and kept.sent == 2
    assert len(await store.broadcasts.delivery_status(broadcast_id=recent.id)) == 2
    # Audit rows and broadcasts after their own periods.
    assert await store.audit.purge(older_than=dt.timedelta(days=30)) == 1
    assert [row["action"] for row in await store.audit.recent()] == ["export"]
    assert await store.broadcasts.purge(older_than=dt.timedelta(days=365)) == 0
    clock.now = START + dt.timedelta(days=400)
    assert await store.broadcasts.purge(older_than=dt.timedelta(days=365)) == 2
    assert await store.broadcasts.get(broadcast_id=old.id) is None
    assert await store.broadcasts.get(broadcast_id=forgotten_draft.id) is None
    assert await store.broadcasts.get(broadcast_id=recent.id) is not None  # never finished
    async with store.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(broadcasts)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(admin_audit)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(residents)) == 2
        assert await conn.scalar(sa.select(sa.func.count()).select_from(inbox)) == 0


async def test_purges_work_in_batches(store: Store, clock: StillClock) -> None:
    for resident_id in range(1, 8):
        await store.residents.ensure(resident_id=resident_id, language="zh")
    clock.now = START + dt.timedelta(days=31)
    batches = []
    while count := await store.privacy.purge_unconsented(older_than=dt.timedelta(days=30), limit=3):
        batches.append(count)
    assert batches == [3, 3, 1]
