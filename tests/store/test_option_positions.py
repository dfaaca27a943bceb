"""Migration 0007: answers stored before edb2d8d reordered options still name the option chosen."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.content import Content
from bot.core.curriculum import Question
from bot.store.db import alembic_config, create_engine
from tests.store.migrating import answers, migrate, store_answers, tallies_by_position

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
BEFORE = "0006"

# The options' Chinese texts at c1430241807862e752d2645edeb20ae46ebdea85 (`git show
# c143024:content/topics/06-ecny.yaml` and 11-newcity.yaml), in their order then: one question
# of each of the three reorderings, chosen because edb2d8d and abb5e80 left their texts as they
# were, so the texts alone say where each option went. The correct one was D (3) in all three.
# (Should a later commit reword one of these options, compare with its text at edb2d8d instead.)
OLD_TEXTS = {
    "ecny-wallet-q4": (
        "先转一小部分试试",
        "照做，警察的话要听",
        "照做，但先不告诉家里人",
        "挂断，这是诈骗",
    ),
    "ecny-2026-q4": (
        "交了，以后能赚回来",
        "先交一半，看看再说",
        "拉上老乡一起报名",
        "不交，这是骗局",
    ),
    "newcity-credit-q4": (
        "打电话让征信中心念给我听",
        "花钱找中介帮我查",
        "下载一个叫“征信中心”的App",
        "上官网www.pbccrc.org.cn查",
    ),
}
OLD_CORRECT = 3
# Answers that must not move: a question replaced under its id, and one that never moved.
UNMOVED = {"pay-mistakes-q5": 1, "pay-codes-q1": 2}


def old_answers() -> list[tuple[str, int, bool]]:
    """(question, position chosen, correct) as stored before edb2d8d: every option of each."""
    rows = [(q, i, i == OLD_CORRECT) for q, texts in OLD_TEXTS.items() for i in range(len(texts))]
    return rows + [(q, i, False) for q, i in UNMOVED.items()]


def chosen_count(question_id: str, position: int) -> int:
    """A tally that tells which old option it counted: 10, 11, ... for the first question."""
    return (
        10 * (list(OLD_TEXTS).index(question_id) + 1) + position if question_id in OLD_TEXTS else 1
    )


async def up_to_0007(engine: AsyncEngine) -> None:
    """This revision only: 0009 keys the tallies by option id (tests/store/test_option_ids.py)."""
    await migrate(engine, "0007")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database at revision 0006 holding answers and tallies stored in the old order."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    await store_old_answers(engine)
    yield engine
    await engine.dispose()


async def store_old_answers(engine: AsyncEngine) -> None:
    """Migrate an empty database to 0006, then store answers and tallies in the old order."""
    await migrate(engine, BEFORE)
    async with engine.begin() as conn:
        await store_answers(conn, old_answers(), at=NOW)
        for question_id, position, _ in old_answers():
            await conn.execute(
                sa.insert(tallies_by_position).values(
                    question_id=question_id,
                    option_index=position,
                    chosen=chosen_count(question_id, position),
                )
            )


async def stored(engine: AsyncEngine) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(answers.c.attempt_id, answers.c.option_index, answers.c.correct).order_by(
                answers.c.attempt_id
            )
        )
        tallies = await conn.execute(
            sa.select(tallies_by_position).order_by(
                tallies_by_position.c.question_id, tallies_by_position.c.option_index
            )
        )
        return [tuple(r) for r in rows], [tuple(r) for r in tallies]


def question(content_question: Question | None) -> Question:
    assert content_question is not None
    return content_question


async def test_upgrade_keeps_every_answer_on_the_option_text_it_chose(
    engine: AsyncEngine, content: Content
) -> None:
    await up_to_0007(engine)
    answer_rows, tally_rows = await stored(engine)
    # Attempt n holds the n-th of old_answers().
    for (_, position, correct), (question_id, old_position, was_correct) in zip(
        answer_rows, old_answers(), strict=True
    ):
        now = question(content.curriculum.question(question_id))
        if question_id in UNMOVED:
            assert position == old_position
            continue
        assert now.options[position].text.zh == OLD_TEXTS[question_id][old_position]
        # What was right then is right now, and the stored verdict agrees with the content.
        assert correct == was_correct == (position == now.correct_index)
    moved = [row for row in tally_rows if row[0] in OLD_TEXTS]
    assert len(moved) == 12
    for question_id, position, chosen in moved:
        old_position = chosen - 10 * (list(OLD_TEXTS).index(question_id) + 1)
        now = question(content.curriculum.question(question_id))
        assert now.options[position].text.zh == OLD_TEXTS[question_id][old_position]
    assert [row for row in tally_rows if row[0] in UNMOVED] == [
        ("pay-codes-q1", 2, 1),
        ("pay-mistakes-q5", 1, 1),
    ]


async def test_downgrade_puts_every_position_back(engine: AsyncEngine) -> None:
    before = await stored(engine)
    await up_to_0007(engine)
    after = await stored(engine)
    assert after != before
    await migrate(engine, BEFORE, down=True)
    assert await stored(engine) == before


def test_the_mapping_moves_each_old_correct_option_d_to_the_current_correct_one(
    content: Content,
) -> None:
    """All twelve reordered questions, not only those whose texts the test above compares."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision("0007")
    assert script is not None
    mapping: dict[str, tuple[int, ...]] = script.module.NEW_POSITION_TO_OLD
    assert len(mapping) == 12
    for question_id, order in mapping.items():
        now = question(content.curriculum.question(question_id))
        assert sorted(order) == list(range(len(now.options))), question_id
        assert order[now.correct_index] == OLD_CORRECT, question_id
    assert set(OLD_TEXTS) <= set(mapping)
    assert not set(UNMOVED) & set(mapping)
