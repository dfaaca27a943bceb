"""For tests of a data migration: Alembic run to a revision, the tables as the old revisions had
them, and quiz answers stored the way finlit stored them then."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import alembic_config

RESIDENT_ID = 7

# Only the columns the tests write or read; ``option_id`` exists from 0009 on.
residents = sa.table(
    "residents",
    sa.column("id", sa.BigInteger),
    sa.column("language", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("last_seen_at", sa.DateTime(timezone=True)),
)
quiz_attempts = sa.table(
    "quiz_attempts",
    sa.column("id", sa.Integer),
    sa.column("resident_id", sa.BigInteger),
    sa.column("lesson_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("question_ids", sa.Text),
    sa.column("position", sa.Integer),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
answers = sa.table(
    "answers",
    sa.column("attempt_id", sa.Integer),
    sa.column("resident_id", sa.BigInteger),
    sa.column("lesson_id", sa.String),
    sa.column("question_id", sa.String),
    sa.column("option_index", sa.Integer),
    sa.column("option_id", sa.String),
    sa.column("correct", sa.Boolean),
    sa.column("try_number", sa.Integer),
    sa.column("answered_at", sa.DateTime(timezone=True)),
)
# The option tallies, keyed by position before 0009 and by option id from then on.
tallies_by_position = sa.table(
    "option_totals",
    sa.column("question_id", sa.String),
    sa.column("option_index", sa.Integer),
    sa.column("chosen", sa.Integer),
)
tallies_by_id = sa.table(
    "option_totals",
    sa.column("question_id", sa.String),
    sa.column("option_id", sa.String),
    sa.column("chosen", sa.Integer),
)


async def migrate(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database to ``revision``, in one transaction."""

    def run(connection: Connection) -> None:
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def store_answers(
    conn: AsyncConnection, stored: Iterable[tuple[str, int, bool]], *, at: dt.datetime
) -> None:
    """A resident, and for each (question, position chosen, correct) a quiz attempt of its own
    (ids 1, 2, ... in order) with that one answer, stored by position."""
    await conn.execute(
        sa.insert(residents).values(id=RESIDENT_ID, language="zh", created_at=at, last_seen_at=at)
    )
    for attempt_id, (question_id, position, correct) in enumerate(stored, start=1):
        lesson_id = question_id.rsplit("-", 1)[0]
        await conn.execute(
            sa.insert(quiz_attempts).values(
                id=attempt_id,
                resident_id=RESIDENT_ID,
                lesson_id=lesson_id,
                kind="full",
                question_ids=f'["{question_id}"]',
                position=1,
                started_at=at,
                updated_at=at,
            )
        )
        await conn.execute(
            sa.insert(answers).values(
                attempt_id=attempt_id,
                resident_id=RESIDENT_ID,
                lesson_id=lesson_id,
                question_id=question_id,
                option_index=position,
                correct=correct,
                try_number=1,
                answered_at=at,
            )
        )
