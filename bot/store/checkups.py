"""The check-up: sittings of the assessment instrument, their answers and scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.models import Sitting
from bot.store.db import Connections
from bot.store.schema import assessment_answers, assessment_sittings
from bot.store.values import Clock, aware


class Checkups:
    """A resident's check-up sittings, one answer per item, scored when finished."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def start(
        self, *, resident_id: int, kind: str, item_ids: Sequence[str], instrument_version: int = 1
    ) -> Sitting:
        """A new sitting of ``item_ids``, at its first item."""
        now = self._now()
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.insert(assessment_sittings)
                .values(
                    resident_id=resident_id,
                    kind=kind,
                    item_ids=json.dumps(list(item_ids)),
                    instrument_version=instrument_version,
                    position=0,
                    started_at=now,
                    updated_at=now,
                )
                .returning(assessment_sittings)
            )
            return _sitting(result.one())

    async def get(self, *, sitting_id: int) -> Sitting | None:
        """A sitting by id."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(
                    sa.select(assessment_sittings).where(assessment_sittings.c.id == sitting_id)
                )
            ).first()
        return _sitting(row) if row else None

    async def of_resident(self, *, resident_id: int) -> list[Sitting]:
        """All of a resident's sittings, oldest first."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(assessment_sittings)
                .where(assessment_sittings.c.resident_id == resident_id)
                .order_by(assessment_sittings.c.id)
            )
            return [_sitting(row) for row in rows]

    async def record_answer(
        self, *, sitting: Sitting, position: int, option_index: int | None, points: int
    ) -> bool:
        """Record the answer at ``position`` (None: "I don't know"); False if already answered."""
        now = self._now()
        async with self._db._write() as conn:
            moved = await conn.execute(
                sa.update(assessment_sittings)
                .where(
                    assessment_sittings.c.id == sitting.id,
                    assessment_sittings.c.position == position,
                    assessment_sittings.c.finished_at.is_(None),
                )
                .values(position=position + 1, updated_at=now)
            )
            if moved.rowcount != 1:
                return False
            await conn.execute(
                sa.insert(assessment_answers).values(
                    sitting_id=sitting.id,
                    resident_id=sitting.resident_id,
                    item_id=sitting.item_ids[position],
                    option_index=option_index,
                    dont_know=option_index is None,
                    points=points,
                    answered_at=now,
                )
            )
        return True

    async def answers(self, *, sitting_id: int) -> dict[str, int | None]:
        """Item id to the chosen option index (None for "I don't know")."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(assessment_answers.c.item_id, assessment_answers.c.option_index).where(
                    assessment_answers.c.sitting_id == sitting_id
                )
            )
            return {row.item_id: row.option_index for row in rows}

    async def finish(self, *, sitting_id: int, scores: dict[str, float], dont_know: int) -> bool:
        """Close a sitting with its scores; True only for the call that closed it."""
        now = self._now()
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.update(assessment_sittings)
                .where(
                    assessment_sittings.c.id == sitting_id,
                    assessment_sittings.c.finished_at.is_(None),
                )
                .values(
                    finished_at=now,
                    updated_at=now,
                    knowledge_score=scores["knowledge"],
                    behaviour_score=scores["behaviour"],
                    attitude_score=scores["attitude"],
                    dont_know_count=dont_know,
                )
            )
            return result.rowcount == 1


def _sitting(row: sa.Row[Any]) -> Sitting:
    scores = None
    if row.finished_at is not None and row.knowledge_score is not None:
        scores = {
            "knowledge": row.knowledge_score,
            "behaviour": row.behaviour_score,
            "attitude": row.attitude_score,
        }
    return Sitting(
        id=row.id,
        resident_id=row.resident_id,
        kind=row.kind,
        item_ids=tuple(json.loads(row.item_ids)),
        position=row.position,
        finished_at=aware(row.finished_at) if row.finished_at else None,
        scores=scores,
        instrument_version=row.instrument_version,
    )
