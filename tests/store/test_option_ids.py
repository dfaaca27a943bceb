"""Migration 0009: stored answers and option tallies name the option by its id; sittings their
instrument version."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.content import Content
from bot.store.db import alembic_config, create_engine
from tests.store.migrating import (
    RESIDENT_ID,
    answers,
    migrate,
    store_answers,
    tallies_by_id,
    tallies_by_position,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
# (question, position in content, correct) as stored before option ids; the last is a question
# no longer in content, whose position cannot be placed.
STORED = [
    ("pay-codes-q1", 0, False),
    ("pay-codes-q1", 1, True),
    ("pay-codes-q1", 1, True),
    ("ecny-wallet-q4", 2, False),
    ("gone-q1", 1, False),
]

sittings = sa.table(
    "assessment_sittings",
    sa.column("id", sa.Integer),
    sa.column("resident_id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("item_ids", sa.Text),
    sa.column("position", sa.Integer),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("instrument_version", sa.Integer),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database at 0008 holding answers and tallies stored by position."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    await migrate(engine, "0008")
    async with engine.begin() as conn:
        await store_answers(conn, STORED, at=NOW)
        tallies = {("pay-codes-q1", 0): 4, ("pay-codes-q1", 1): 9, ("gone-q1", 1): 2}
        for (question_id, position), chosen in tallies.items():
            await conn.execute(
                sa.insert(tallies_by_position).values(
                    question_id=question_id, option_index=position, chosen=chosen
                )
            )
        await conn.execute(
            sa.insert(sittings).values(
                id=1,
                resident_id=RESIDENT_ID,
                kind="baseline",
                item_ids="[]",
                position=0,
                started_at=NOW,
                updated_at=NOW,
            )
        )
    yield engine
    await engine.dispose()


async def test_upgrade_names_each_stored_option_by_its_id(
    engine: AsyncEngine, content: Content
) -> None:
    await migrate(engine, "0009")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(answers.c.question_id, answers.c.option_index, answers.c.option_id)
            )
        ).all()
        tallies = set((await conn.execute(sa.select(tallies_by_id))).all())
        version = (await conn.execute(sa.select(sittings.c.instrument_version))).scalar_one()
    for question_id, position, option_id in rows:
        question = content.curriculum.question(question_id)
        if question is None:
            assert option_id is None  # cannot be placed: left without an id
        else:
            assert option_id == question.options[position].id
    codes = content.curriculum.question("pay-codes-q1")
    assert codes is not None
    assert tallies == {
        ("pay-codes-q1", codes.options[0].id, 4),
        ("pay-codes-q1", codes.options[1].id, 9),
    }
    assert version == 1


async def test_downgrade_puts_the_positions_back(engine: AsyncEngine) -> None:
    await migrate(engine, "0009")
    await migrate(engine, "0008", down=True)
    async with engine.connect() as conn:
        tallies = set((await conn.execute(sa.select(tallies_by_position))).all())
        columns = {
            c["name"]
            for c in await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("answers"))
        }
    assert tallies == {("pay-codes-q1", 0, 4), ("pay-codes-q1", 1, 9)}  # the unplaced one is gone
    assert "option_id" not in columns


def test_every_id_the_migration_knows_is_still_an_option_of_its_question(content: Content) -> None:
    """Option ids are stable: one that a stored answer may name never disappears."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision("0009")
    assert script is not None
    table: dict[str, tuple[str, ...]] = script.module.OPTION_IDS
    for question_id, ids in table.items():
        question = content.curriculum.question(question_id)
        assert question is not None, question_id
        assert set(ids) <= {o.id for o in question.options}, question_id
