"""The store: a small async repository over SQLAlchemy Core, with keyword-only methods.

Each method is one transaction, committed before it returns, so whatever a channel replies
afterwards describes data that is already safe on disk.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.i18n import Language
from bot.core.models import (
    Attempt,
    Broadcast,
    Cohort,
    LessonPosition,
    Queued,
    Recipient,
    RecordedAnswer,
    Resident,
    Sitting,
)
from bot.core.progress import LessonStatus, ResidentState
from bot.store import aggregates
from bot.store import statements as sql
from bot.store.checker import CheckRecords
from bot.store.db import Conn, Database, create_engine, migrate
from bot.store.exports import Exports
from bot.store.fraud_tools import DrillAnswers, LoanSessions
from bot.store.schema import (
    admin_audit,
    app_state,
    assessment_answers,
    assessment_sittings,
    broadcast_deliveries,
    broadcasts,
    cohort_members,
    cohorts,
    inbox,
    lesson_progress,
    outbox,
    quiz_attempts,
    residents,
)

Clock = Callable[[], dt.datetime]
PROFILE_FIELDS = ("age_band", "resident_type", "place")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# Delivery statuses, and the broadcast counter each final one adds to.
DELIVERY_COUNTERS = {
    "sent": "sent",
    "failed": "failed",
    "unknown": "failed",  # a claim a crash interrupted: maybe delivered, never repeated
    "blocked": "blocked",
    "skipped": "skipped",  # turned announcements off after the broadcast was confirmed
}


class Store:
    """Everything finlit remembers about residents."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now, inline: bool = True) -> None:
        """``inline``: run SQLite statements on the loop's thread (see ``db.inline_twin``)."""
        self.engine = engine  # for long reads (administrators' figures), off the loop's thread
        self._db = Database(engine, inline=inline)
        self._now = clock
        # The transaction of the unit of work in progress in this task, if any.
        self._ambient: contextvars.ContextVar[Conn | None] = contextvars.ContextVar(
            f"finlit_store_{id(self)}", default=None
        )
        # The fraud tools (issue 16): the loan calculator's sessions and the drills' answers.
        self.loans = LoanSessions(self, clock)
        self.drills = DrillAnswers(self, clock)
        self.exports = Exports(self, clock)
        self.checks = CheckRecords(self, clock)  # the scam-message checker

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Conn]:
        """One write transaction that every store call inside joins; committed at the end.

        Handling an update runs in one: its effects, the replies it queues and the inbox mark
        commit together or not at all.
        """
        if self._ambient.get() is not None:
            raise RuntimeError("units of work do not nest")
        async with self._db.write() as conn:
            token = self._ambient.set(conn)
            try:
                yield conn
            finally:
                self._ambient.reset(token)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[Conn]:
        ambient = self._ambient.get()
        if ambient is not None:
            yield ambient
            return
        async with self._db.write() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[Conn]:
        ambient = self._ambient.get()
        if ambient is not None:
            yield ambient  # reads inside a unit of work see its own writes
            return
        async with self._db.read() as conn:
            yield conn

    @classmethod
    async def open(cls, url: str, *, clock: Clock = utc_now, inline: bool = True) -> Store:
        """Connect and bring the schema to the latest migration."""
        engine = create_engine(url)
        await migrate(engine)
        return cls(engine, clock=clock, inline=inline)

    async def close(self) -> None:
        await self._db.dispose()

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(sa.select(1))

    def _insert_ignoring_duplicates(self, conn: Conn, table: sa.Table) -> Any:
        return aggregates.upsert(conn, table).on_conflict_do_nothing()

    # Residents

    async def get_resident(self, *, resident_id: int) -> Resident | None:
        async with self._read() as conn:
            row = (await conn.execute(sql.of(conn).resident, {"resident_id": resident_id})).first()
        return _resident(row) if row else None

    async def ensure_resident(self, *, resident_id: int, language: Language) -> Resident:
        """The resident, created with ``language`` on first contact; marks them seen."""
        now = self._now()
        async with self._write() as conn:
            row = (
                await conn.execute(
                    sql.of(conn).ensure_resident,
                    {
                        "id": resident_id,
                        "language": language,
                        "created_at": now,
                        "last_seen_at": now,
                        "b_now": now,
                    },
                )
            ).one()
        return _resident(row)

    async def set_language(self, *, resident_id: int, language: Language) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values(language=language)
            )

    async def give_consent(self, *, resident_id: int, version: int = 1) -> None:
        """A first consent, to ``version`` of the privacy notice (the newest one shown)."""
        now = self._now()
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id, residents.c.consent_at.is_(None))
                .values(
                    consent_at=now,
                    consent_version=version,
                    consent_version_at=now,
                    consent_asked=version,
                )
            )

    async def accept_notice(self, *, resident_id: int, version: int) -> bool:
        """A consented resident agrees to a newer version of the notice; False if not newer."""
        now = self._now()
        async with self._write() as conn:
            moved = await conn.execute(
                sa.update(residents)
                .where(
                    residents.c.id == resident_id,
                    residents.c.consent_at.is_not(None),
                    sa.func.coalesce(residents.c.consent_version, 1) < version,
                )
                .values(consent_version=version, consent_version_at=now, consent_asked=version)
            )
        return moved.rowcount == 1

    async def notice_asked(self, *, resident_id: int, version: int) -> bool:
        """Remember that a resident was asked about ``version``; False if they already were."""
        async with self._write() as conn:
            moved = await conn.execute(
                sa.update(residents)
                .where(
                    residents.c.id == resident_id,
                    sa.func.coalesce(residents.c.consent_asked, 0) < version,
                )
                .values(consent_asked=version)
            )
        return moved.rowcount == 1

    # Lessons

    async def open_card(self, *, resident_id: int, lesson_id: str, card_index: int) -> None:
        """Remember the card a resident is looking at; a finished lesson stays finished."""
        now = self._now()
        async with self._write() as conn:
            await self._start_lesson(conn, resident_id, lesson_id, card_index, now)
            await conn.execute(
                sql.of(conn).lesson_card,
                {
                    "b_resident_id": resident_id,
                    "b_lesson_id": lesson_id,
                    "b_card_index": card_index,
                    "b_now": now,
                },
            )

    async def complete_lesson(self, *, resident_id: int, lesson_id: str) -> None:
        now = self._now()
        async with self._write() as conn:
            await self._start_lesson(conn, resident_id, lesson_id, 0, now)
            finished = await conn.execute(
                sa.update(lesson_progress)
                .where(
                    lesson_progress.c.resident_id == resident_id,
                    lesson_progress.c.lesson_id == lesson_id,
                    lesson_progress.c.status != LessonStatus.DONE.value,
                )
                .values(status=LessonStatus.DONE.value, completed_at=now, updated_at=now)
            )
            if finished.rowcount == 1:
                scopes = await aggregates.scopes_of(conn, resident_id)
                await aggregates.add_lesson_counts(
                    conn, scopes, lesson_id=lesson_id, started=0, completed=1
                )
                await conn.execute(
                    sa.update(residents)
                    .where(residents.c.id == resident_id)
                    .values(lessons_done=residents.c.lessons_done + 1)
                )

    async def _start_lesson(
        self, conn: Conn, resident_id: int, lesson_id: str, card: int, now: dt.datetime
    ) -> None:
        """Create the resident's row for a lesson unless it exists, and count it as started."""
        created = await conn.execute(
            sql.of(conn).lesson_start,
            {
                "resident_id": resident_id,
                "lesson_id": lesson_id,
                "card_index": card,
                "status": LessonStatus.STARTED.value,
                "started_at": now,
                "updated_at": now,
            },
        )
        if created.rowcount == 1:
            scopes = await aggregates.scopes_of(conn, resident_id)
            await aggregates.add_lesson_counts(
                conn, scopes, lesson_id=lesson_id, started=1, completed=0
            )

    async def lesson_in_progress(self, *, resident_id: int) -> LessonPosition | None:
        """The unfinished lesson the resident looked at most recently."""
        async with self._read() as conn:
            row = (
                await conn.execute(sql.of(conn).lesson_in_progress, {"resident_id": resident_id})
            ).first()
        if row is None:
            return None
        return LessonPosition(row.lesson_id, row.card_index, _aware(row.updated_at))

    async def resident_state(self, *, resident_id: int) -> ResidentState:
        """Lesson statuses and whether the latest answer to each question was right."""
        async with self._read() as conn:
            params = {"resident_id": resident_id}
            statuses = await conn.execute(sql.of(conn).lesson_statuses, params)
            lesson_status = {row.lesson_id: LessonStatus(row.status) for row in statuses}
            rows = await conn.execute(sql.of(conn).latest_correct, params)
            latest_correct = {row.question_id: bool(row.latest_correct) for row in rows}
        return ResidentState(lesson_status=lesson_status, latest_correct=latest_correct)

    # Quizzes

    async def start_attempt(
        self, *, resident_id: int, lesson_id: str, question_ids: Sequence[str], kind: str
    ) -> Attempt:
        now = self._now()
        async with self._write() as conn:
            result = await conn.execute(
                sql.of(conn).start_attempt,
                {
                    "resident_id": resident_id,
                    "lesson_id": lesson_id,
                    "kind": kind,
                    "question_ids": json.dumps(list(question_ids)),
                    "position": 0,
                    "started_at": now,
                    "updated_at": now,
                },
            )
            return _attempt(result.one())

    async def get_attempt(self, *, attempt_id: int) -> Attempt | None:
        async with self._read() as conn:
            row = (await conn.execute(sql.of(conn).attempt, {"attempt_id": attempt_id})).first()
        return _attempt(row) if row else None

    async def unfinished_attempt(self, *, resident_id: int) -> Attempt | None:
        """The resident's most recently touched quiz sitting that is not finished."""
        async with self._read() as conn:
            row = (
                await conn.execute(sql.of(conn).unfinished_attempt, {"resident_id": resident_id})
            ).first()
        return _attempt(row) if row else None

    async def record_answer(
        self,
        *,
        attempt: Attempt,
        position: int,
        option_index: int,
        correct: bool,
        option_id: str | None = None,
    ) -> bool:
        """Record the answer at ``position`` and move the sitting on; False if it was answered.

        ``option_index`` is the option's position in content, ``option_id`` its stable id (the
        tutor always gives it; the option tallies count by it).

        The guarded update is the lock: of two presses racing for one question, only the one
        that moves the position on inserts an answer.
        """
        now = self._now()
        question_id = attempt.question_ids[position]
        async with self._write() as conn:
            q = sql.of(conn)
            moved = await conn.execute(
                q.attempt_move, {"b_attempt_id": attempt.id, "b_position": position, "b_now": now}
            )
            if moved.rowcount != 1:
                return False
            previous = (
                await conn.execute(
                    q.previous_answer,
                    {"resident_id": attempt.resident_id, "question_id": question_id},
                )
            ).first()
            await conn.execute(
                q.answer_insert,
                {
                    "attempt_id": attempt.id,
                    "resident_id": attempt.resident_id,
                    "lesson_id": attempt.lesson_id,
                    "question_id": question_id,
                    "option_index": option_index,
                    "option_id": option_id,
                    "correct": correct,
                    "try_number": (previous.answers if previous else 0) + 1,
                    "answered_at": now,
                },
            )
            earlier = None if previous is None else bool(previous.latest_correct)
            await self._count_answer(conn, attempt, question_id, option_id, correct, earlier)
        return True

    async def _count_answer(
        self,
        conn: Conn,
        attempt: Attempt,
        question_id: str,
        option_id: str | None,
        correct: bool,
        previous: bool | None,
    ) -> None:
        """Keep the statistics' aggregates in step with the answer just recorded.

        ``previous`` is whether the resident's latest answer to this question was right before
        this one, or None if this is their first answer to it.
        """
        if previous is None:
            await conn.execute(
                sql.of(conn).latest_insert,
                {
                    "resident_id": attempt.resident_id,
                    "question_id": question_id,
                    "lesson_id": attempt.lesson_id,
                    "first_correct": correct,
                    "latest_correct": correct,
                    "answers": 1,
                },
            )
        else:
            await conn.execute(
                sql.of(conn).latest_update,
                {
                    "b_resident_id": attempt.resident_id,
                    "b_question_id": question_id,
                    "b_correct": correct,
                },
            )
        first = previous is None
        await aggregates.add_question_counts(
            conn,
            await aggregates.scopes_of(conn, attempt.resident_id),
            question_id=question_id,
            lesson_id=attempt.lesson_id,
            answers_=1,
            residents_=int(first),
            first_try_correct=int(first and correct),
            latest_correct=int(correct) - int(bool(previous)),
        )
        if option_id is not None:
            await aggregates.count_option(conn, question_id=question_id, option_id=option_id)

    async def attempt_answers(self, *, attempt_id: int) -> dict[str, RecordedAnswer]:
        async with self._read() as conn:
            rows = await conn.execute(sql.of(conn).attempt_answers, {"attempt_id": attempt_id})
            return {
                row.question_id: RecordedAnswer(
                    row.question_id, row.option_index, bool(row.correct), row.option_id
                )
                for row in rows
            }

    async def finish_attempt(self, *, attempt_id: int) -> bool:
        """Close a sitting; True only for the call that actually closed it."""
        now = self._now()
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(quiz_attempts)
                .where(quiz_attempts.c.id == attempt_id, quiz_attempts.c.finished_at.is_(None))
                .values(finished_at=now, updated_at=now)
            )
            return result.rowcount == 1

    # The check-up

    async def start_sitting(
        self, *, resident_id: int, kind: str, item_ids: Sequence[str], instrument_version: int = 1
    ) -> Sitting:
        now = self._now()
        async with self._write() as conn:
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

    async def get_sitting(self, *, sitting_id: int) -> Sitting | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    sa.select(assessment_sittings).where(assessment_sittings.c.id == sitting_id)
                )
            ).first()
        return _sitting(row) if row else None

    async def sittings(self, *, resident_id: int) -> list[Sitting]:
        """All of a resident's sittings, oldest first."""
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(assessment_sittings)
                .where(assessment_sittings.c.resident_id == resident_id)
                .order_by(assessment_sittings.c.id)
            )
            return [_sitting(row) for row in rows]

    async def record_item_answer(
        self, *, sitting: Sitting, position: int, option_index: int | None, points: int
    ) -> bool:
        """Record the answer at ``position`` (None: "I don't know"); False if already answered."""
        now = self._now()
        async with self._write() as conn:
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

    async def sitting_answers(self, *, sitting_id: int) -> dict[str, int | None]:
        """Item id to the chosen option index (None for "I don't know")."""
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(assessment_answers.c.item_id, assessment_answers.c.option_index).where(
                    assessment_answers.c.sitting_id == sitting_id
                )
            )
            return {row.item_id: row.option_index for row in rows}

    async def finish_sitting(
        self, *, sitting_id: int, scores: dict[str, float], dont_know: int
    ) -> bool:
        """Close a sitting with its scores; True only for the call that closed it."""
        now = self._now()
        async with self._write() as conn:
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

    # Profile (optional, after consent)

    async def set_profile(self, *, resident_id: int, field: str, value: str) -> None:
        if field not in PROFILE_FIELDS:
            raise ValueError(f"unknown profile field {field!r}")
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values({field: value})
            )

    async def profile(self, *, resident_id: int) -> dict[str, str | None]:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    sa.select(*(residents.c[f] for f in PROFILE_FIELDS)).where(
                        residents.c.id == resident_id
                    )
                )
            ).first()
        return dict(row._mapping) if row else dict.fromkeys(PROFILE_FIELDS)

    # Cohorts

    async def create_cohort(self, *, code: str, name: str, created_by: int) -> Cohort:
        async with self._write() as conn:
            result = await conn.execute(
                sa.insert(cohorts)
                .values(code=code, name=name, created_by=created_by, created_at=self._now())
                .returning(cohorts.c.id)
            )
            return Cohort(id=result.scalar_one(), code=code, name=name)

    async def cohort(self, *, code: str | None = None, name: str | None = None) -> Cohort | None:
        """A cohort by its link code, or by its name (the most recent one of that name)."""
        condition = cohorts.c.code == code if code is not None else cohorts.c.name == name
        async with self._read() as conn:
            row = (
                await conn.execute(
                    sa.select(cohorts).where(condition).order_by(cohorts.c.id.desc()).limit(1)
                )
            ).first()
        return Cohort(row.id, row.code, row.name) if row else None

    async def cohorts(self) -> list[Cohort]:
        """All cohorts with their sizes, newest first."""
        size = (
            sa.select(sa.func.count())
            .where(cohort_members.c.cohort_id == cohorts.c.id)
            .scalar_subquery()
        )
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(
                    cohorts.c.id, cohorts.c.code, cohorts.c.name, size.label("members")
                ).order_by(cohorts.c.id.desc())
            )
            return [Cohort(r.id, r.code, r.name, r.members) for r in rows]

    async def hold_cohort_code(self, *, resident_id: int, code: str) -> None:
        """Remember a cohort link used before consent; it is joined once they consent."""
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id)
                .values(pending_cohort=code)
            )

    async def take_cohort_code(self, *, resident_id: int) -> str | None:
        async with self._write() as conn:
            code = await conn.scalar(
                sa.select(residents.c.pending_cohort).where(residents.c.id == resident_id)
            )
            if code is not None:
                await conn.execute(
                    sa.update(residents)
                    .where(residents.c.id == resident_id)
                    .values(pending_cohort=None)
                )
            return code

    async def join_cohort(self, *, resident_id: int, cohort_id: int) -> bool:
        """Join once; the resident's learning so far is added to the cohort's statistics."""
        async with self._write() as conn:
            joined = await conn.execute(
                self._insert_ignoring_duplicates(conn, cohort_members).values(
                    cohort_id=cohort_id, resident_id=resident_id, joined_at=self._now()
                )
            )
            if joined.rowcount != 1:
                return False
            await aggregates.add_resident_to_cohort_totals(
                conn, resident_id=resident_id, cohort_id=cohort_id
            )
            return True

    # Administrators

    async def audit(self, *, admin_id: int, action: str, detail: str = "") -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.insert(admin_audit).values(
                    admin_id=admin_id, action=action, detail=detail[:256], at=self._now()
                )
            )

    async def audit_log(self, *, limit: int = 50) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(admin_audit).order_by(admin_audit.c.id.desc()).limit(limit)
            )
            return [_jsonable(dict(row._mapping)) for row in rows]

    # Inbox: updates are kept until handled, so none is lost between Telegram and a crash

    async def inbox_accept(self, updates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record updates (idempotently) and return those not handled yet, in order."""
        if not updates:
            return []
        now = self._now()
        ids = [int(update["update_id"]) for update in updates]
        rows = [
            {"update_id": update_id, "payload": json.dumps(update), "received_at": now}
            for update_id, update in zip(ids, updates, strict=True)
        ]
        async with self._write() as conn:
            # Two statements for the whole batch that getUpdates returned, not two per update.
            await conn.execute(sql.of(conn).inbox_insert_ignore, rows)
            handled = set((await conn.execute(sql.of(conn).inbox_handled, {"ids": ids})).scalars())
        return [
            update
            for update_id, update in zip(ids, updates, strict=True)
            if update_id not in handled
        ]

    async def inbox_pending(self) -> list[dict[str, Any]]:
        """Updates accepted but not handled (a crash came in between), oldest first."""
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(inbox.c.payload)
                .where(inbox.c.done_at.is_(None), inbox.c.payload.is_not(None))
                .order_by(inbox.c.update_id)
            )
            return [json.loads(row.payload) for row in rows]

    async def inbox_done(self, *, update_id: int) -> bool:
        async with self._read() as conn:
            done = await conn.scalar(
                sa.select(inbox.c.done_at).where(inbox.c.update_id == update_id)
            )
        return done is not None

    async def inbox_finish(self, *, update_id: int) -> bool:
        """Mark an update handled and forget its content; False if it already was."""
        now = self._now()
        async with self._write() as conn:
            result = await conn.execute(
                sql.of(conn).inbox_finish,
                {
                    "update_id": update_id,
                    "payload": None,
                    "received_at": now,
                    "done_at": now,
                    "b_now": now,
                },
            )
            return result.rowcount == 1

    async def inbox_purge(self, *, older_than: dt.timedelta) -> int:
        """Drop handled update ids once Telegram can no longer redeliver them."""
        async with self._write() as conn:
            result = await conn.execute(
                sa.delete(inbox).where(inbox.c.done_at < self._now() - older_than)
            )
            return int(result.rowcount)

    # Outbox: replies committed with the effects that caused them, sent after the commit

    async def outbox_add(self, *, chat_id: int, payload: dict[str, Any], priority: int = 0) -> int:
        async with self._write() as conn:
            result = await conn.execute(
                sql.of(conn).outbox_add,
                {
                    "chat_id": chat_id,
                    "payload": json.dumps(payload),
                    "created_at": self._now(),
                    "priority": priority,
                },
            )
            return int(result.scalar_one())

    async def outbox_pending(
        self, *, chat_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """(id, chat id, payload) of messages still to send, in the order they were queued."""
        query = sa.select(outbox.c.id, outbox.c.chat_id, outbox.c.payload).order_by(outbox.c.id)
        if chat_id is not None:
            query = query.where(outbox.c.chat_id == chat_id)
        if ids is not None:
            query = query.where(outbox.c.id.in_(list(ids)))
        async with self._read() as conn:
            rows = await conn.execute(query)
            return [(row.id, row.chat_id, json.loads(row.payload)) for row in rows]

    async def outbox_chats(self) -> dict[int, int]:
        """Chats with messages to send, each with the most urgent priority among them."""
        query = sa.select(
            outbox.c.chat_id, sa.func.min(outbox.c.priority).label("priority")
        ).group_by(outbox.c.chat_id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return {int(row.chat_id): int(row.priority) for row in rows}

    async def outbox_for_chat(self, *, chat_id: int, limit: int = 50) -> tuple[bool, list[Queued]]:
        """Whether the chat blocked the bot, and its oldest queued messages: one read."""
        async with self._read() as conn:
            rows = (
                await conn.execute(
                    sql.of(conn).outbox_for_chat, {"chat_id": chat_id, "limit": limit}
                )
            ).all()
        # Nothing queued means nothing to send, whatever the chat's state.
        blocked = bool(rows) and rows[0].blocked_at is not None
        queued = [
            Queued(
                id=row.id,
                chat_id=chat_id,
                payload=json.loads(row.payload),
                priority=row.priority,
                attempts=row.attempts,
            )
            for row in rows
        ]
        return blocked, queued

    async def outbox_rewrite(self, *, message_id: int, payload: dict[str, Any]) -> None:
        """Replace a queued message's payload (an edit Telegram cannot apply becomes a send)."""
        async with self._write() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == message_id)
                .values(payload=json.dumps(payload))
            )

    async def outbox_sent(self, *, message_id: int | None = None, ids: Sequence[int] = ()) -> None:
        """Forget messages Telegram accepted, or that need no sending (one, or several at once)."""
        chosen = [*ids, *([message_id] if message_id is not None else [])]
        if not chosen:
            return
        async with self._write() as conn:
            await conn.execute(sql.of(conn).outbox_sent, {"ids": chosen})

    async def outbox_failed(self, *, message_id: int) -> int:
        """Count a failed delivery attempt; returns the attempts so far."""
        async with self._write() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == message_id)
                .values(attempts=outbox.c.attempts + 1)
            )
            return int(
                await conn.scalar(sa.select(outbox.c.attempts).where(outbox.c.id == message_id))
                or 0
            )

    async def outbox_drop_chat(self, *, chat_id: int) -> int:
        async with self._write() as conn:
            result = await conn.execute(sa.delete(outbox).where(outbox.c.chat_id == chat_id))
            return int(result.rowcount)

    # Reachability

    async def set_blocked(self, *, resident_id: int, blocked: bool) -> None:
        """Telegram said the resident blocked the bot (or came back)."""
        condition = (
            residents.c.blocked_at.is_(None) if blocked else residents.c.blocked_at.is_not(None)
        )
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id, condition)
                .values(blocked_at=self._now() if blocked else None)
            )

    async def is_blocked(self, *, resident_id: int) -> bool:
        async with self._read() as conn:
            blocked = await conn.scalar(
                sa.select(residents.c.blocked_at).where(residents.c.id == resident_id)
            )
        return blocked is not None

    # Application state

    async def get_state(self, key: str) -> str | None:
        async with self._read() as conn:
            value = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
        return None if value is None else str(value)

    async def set_state_once(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless one is there; return what is stored."""
        async with self._write() as conn:
            await conn.execute(
                self._insert_ignoring_duplicates(conn, app_state).values(key=key, value=value)
            )
            stored = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
        return str(stored)

    async def claim_group_note(self, *, chat_id: int, every: dt.timedelta) -> bool:
        """Whether a group may hear the bot's note now (at most once per ``every``); if so, the
        time is recorded in the same transaction, so two processes cannot both say it."""
        key = f"group_note:{chat_id}"
        now = self._now()
        async with self._write() as conn:
            value = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
            if value is not None and _aware(dt.datetime.fromisoformat(value)) > now - every:
                return False
            statement = aggregates.upsert(conn, app_state).values(key=key, value=now.isoformat())
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[app_state.c.key], set_={"value": now.isoformat()}
                )
            )
            return True

    # Residents' settings

    async def set_announcements(self, *, resident_id: int, on: bool) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.update(residents).where(residents.c.id == resident_id).values(announcements=on)
            )

    async def announcements(self, *, resident_id: int) -> bool:
        async with self._read() as conn:
            value = await conn.scalar(
                sa.select(residents.c.announcements).where(residents.c.id == resident_id)
            )
        return True if value is None else bool(value)

    # Broadcasts: a draft, then a durable job with one delivery row per recipient

    def _audience(self, cohort_id: int | None) -> sa.Select[Any]:
        query = sa.select(residents.c.id).where(
            residents.c.consent_at.is_not(None),
            residents.c.blocked_at.is_(None),
            residents.c.announcements.is_(sa.true()),
        )
        if cohort_id is not None:
            members = sa.select(cohort_members.c.resident_id).where(
                cohort_members.c.cohort_id == cohort_id
            )
            query = query.where(residents.c.id.in_(members))
        return query

    async def broadcast_audience(self, *, cohort_id: int | None) -> int:
        """How many residents a broadcast would reach now (consented, reachable, not opted out)."""
        async with self._read() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count()).select_from(self._audience(cohort_id).subquery())
            )
        return int(count or 0)

    async def create_broadcast(
        self, *, admin_id: int, cohort_id: int | None, text: str
    ) -> Broadcast:
        async with self._write() as conn:
            result = await conn.execute(
                sa.insert(broadcasts)
                .values(
                    admin_id=admin_id,
                    cohort_id=cohort_id,
                    text=text,
                    status="draft",
                    created_at=self._now(),
                )
                .returning(broadcasts)
            )
            return _broadcast(result.one())

    async def get_broadcast(self, *, broadcast_id: int) -> Broadcast | None:
        async with self._read() as conn:
            row = (
                await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))
            ).first()
        return _broadcast(row) if row else None

    async def start_broadcast(self, *, broadcast_id: int) -> Broadcast | None:
        """Draft -> sending, writing one pending delivery per recipient in the same transaction.

        None when the broadcast is not a draft (already confirmed, cancelled, unknown): a second
        press of "Send" creates nothing.
        """
        async with self._write() as conn:
            cohort_id = await conn.scalar(
                sa.select(broadcasts.c.cohort_id).where(broadcasts.c.id == broadcast_id)
            )
            moved = await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="sending", started_at=self._now())
            )
            if moved.rowcount != 1:
                return None
            audience = self._audience(cohort_id).subquery()
            await conn.execute(
                sa.insert(broadcast_deliveries).from_select(
                    ["broadcast_id", "resident_id", "status", "attempts"],
                    sa.select(
                        sa.literal(broadcast_id),
                        audience.c.id,
                        sa.literal("pending"),
                        sa.literal(0),
                    ),
                )
            )
            count = await conn.scalar(
                sa.select(sa.func.count()).where(
                    broadcast_deliveries.c.broadcast_id == broadcast_id
                )
            )
            await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id)
                .values(recipients=int(count or 0))
            )
            row = (
                await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))
            ).one()
            return _broadcast(row)

    async def cancel_broadcast(self, *, broadcast_id: int) -> bool:
        """Draft -> cancelled; False if it was not a draft any more."""
        async with self._write() as conn:
            moved = await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="cancelled", finished_at=self._now())
            )
            return moved.rowcount == 1

    async def sending_broadcasts(self) -> list[Broadcast]:
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(broadcasts)
                .where(broadcasts.c.status == "sending")
                .order_by(broadcasts.c.id)
            )
            return [_broadcast(row) for row in rows]

    async def pending_deliveries(self, *, broadcast_id: int, limit: int) -> list[Recipient]:
        """Up to ``limit`` deliveries not attempted yet, with the residents' current settings."""
        d = broadcast_deliveries
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(
                    d.c.resident_id,
                    residents.c.language,
                    residents.c.announcements,
                    residents.c.blocked_at,
                )
                .join(residents, residents.c.id == d.c.resident_id)
                .where(d.c.broadcast_id == broadcast_id, d.c.status == "pending")
                .order_by(d.c.resident_id)
                .limit(limit)
            )
            return [
                Recipient(
                    resident_id=row.resident_id,
                    language=row.language,
                    announcements=bool(row.announcements),
                    blocked=row.blocked_at is not None,
                )
                for row in rows
            ]

    async def claim_delivery(self, *, broadcast_id: int, resident_id: int) -> bool:
        """Pending -> sending, committed before the message goes out; False if not pending."""
        d = broadcast_deliveries
        async with self._write() as conn:
            claimed = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == "pending",
                )
                .values(status="sending", attempts=d.c.attempts + 1)
            )
            return claimed.rowcount == 1

    async def release_delivery(self, *, broadcast_id: int, resident_id: int) -> bool:
        """Sending -> pending: Telegram certainly did not take it (flood control)."""
        d = broadcast_deliveries
        async with self._write() as conn:
            released = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == "sending",
                )
                .values(status="pending")
            )
            return released.rowcount == 1

    async def settle_delivery(
        self, *, broadcast_id: int, resident_id: int, status: str, claimed: bool = True
    ) -> bool:
        """A claimed (or, with ``claimed=False``, a pending) delivery's outcome, counted once."""
        counter = DELIVERY_COUNTERS[status]
        d = broadcast_deliveries
        now = self._now()
        async with self._write() as conn:
            settled = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == ("sending" if claimed else "pending"),
                )
                .values(status=status, sent_at=now if status == "sent" else None)
            )
            if settled.rowcount != 1:
                return False
            await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id)
                .values({counter: broadcasts.c[counter] + 1})
            )
            return True

    async def abandon_claimed_deliveries(self) -> int:
        """After a crash: claims whose fate is unknown become "unknown" (never sent again)."""
        d = broadcast_deliveries
        async with self._write() as conn:
            rows = (
                await conn.execute(
                    sa.select(d.c.broadcast_id, sa.func.count().label("n"))
                    .where(d.c.status == "sending")
                    .group_by(d.c.broadcast_id)
                )
            ).all()
            for row in rows:
                await conn.execute(
                    sa.update(d)
                    .where(d.c.broadcast_id == row.broadcast_id, d.c.status == "sending")
                    .values(status="unknown")
                )
                await conn.execute(
                    sa.update(broadcasts)
                    .where(broadcasts.c.id == row.broadcast_id)
                    .values(failed=broadcasts.c.failed + row.n)
                )
            return sum(int(row.n) for row in rows)

    async def finish_broadcast(self, *, broadcast_id: int) -> bool:
        """Sending -> done once no delivery is pending or in flight; True for the one caller
        that made the change (it reports the end)."""
        d = broadcast_deliveries
        async with self._write() as conn:
            open_deliveries = sa.exists().where(
                d.c.broadcast_id == broadcast_id, d.c.status.in_(("pending", "sending"))
            )
            done = await conn.execute(
                sa.update(broadcasts)
                .where(
                    broadcasts.c.id == broadcast_id,
                    broadcasts.c.status == "sending",
                    ~open_deliveries,
                )
                .values(status="done", finished_at=self._now())
            )
            return done.rowcount == 1

    async def delivery_status(self, *, broadcast_id: int) -> dict[int, str]:
        """Each recipient's delivery status (for tests and support)."""
        d = broadcast_deliveries
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(d.c.resident_id, d.c.status).where(d.c.broadcast_id == broadcast_id)
            )
            return {row.resident_id: row.status for row in rows}

    # Privacy: /mydata and /forget cover every table with a resident's id, found in the schema

    # Tables naming a person that /mydata and /forget leave alone, and why. Every other table
    # with a resident's id is covered automatically (``resident_columns``), and
    # tests/test_privacy_store.py fails when a table names someone in neither way.
    PRIVACY_EXEMPT: tuple[tuple[str, str], ...] = (
        (
            "inbox",
            "update ids only: the payload (which may quote the resident) is erased once the "
            "update is handled, and a handled id is purged after three days",
        ),
        (
            "admin_audit",
            "what administrators did (their ids, not residents'), kept for accountability and "
            "purged after AUDIT_RETENTION_DAYS",
        ),
        (
            "broadcasts",
            "administrators' announcements (the administrator's id and text), purged after "
            "BROADCAST_RETENTION_DAYS; who received one is in broadcast_deliveries",
        ),
        (
            "cohorts",
            "the cohort and the administrator who created it; membership is in cohort_members",
        ),
    )
    # Columns that name a person without a foreign key to residents. In a private chat, the
    # chat's id is the resident's Telegram id.
    PERSON_COLUMNS = ("resident_id", "chat_id", "admin_id", "created_by", "user_id")

    @staticmethod
    def resident_columns(metadata: sa.MetaData | None = None) -> list[sa.Column[Any]]:
        """The column holding a resident's id in each table that has one, parents first."""
        found: list[sa.Column[Any]] = []
        for table in (metadata or residents.metadata).sorted_tables:
            if table.name == residents.name:
                found.append(table.c.id)
                continue
            for column in table.columns:
                refers = any(fk.column.table.name == residents.name for fk in column.foreign_keys)
                if refers or column.name in ("resident_id", "chat_id"):
                    found.append(column)
                    break
        return found

    async def export_resident(self, *, resident_id: int) -> dict[str, Any]:
        """Every row stored about a resident, as plain JSON-ready data."""
        out: dict[str, Any] = {}
        async with self._read() as conn:
            for column in self.resident_columns():
                table = column.table
                # In the order they were stored (PostgreSQL returns updated rows in any order).
                rows = await conn.execute(
                    sa.select(table)
                    .where(column == resident_id)
                    .order_by(*table.primary_key.columns)
                )
                out[table.name] = [_jsonable(dict(row._mapping)) for row in rows]
        # Messages waiting to be sent are JSON in the database: shown as what they are.
        for message in out.get("outbox", []):
            if isinstance(message.get("payload"), str):
                message["payload"] = json.loads(message["payload"])
        return out

    async def forget_resident(self, *, resident_id: int) -> None:
        """Delete every row about a resident, queued messages included (children first)."""
        async with self._write() as conn:
            # Aggregate counters keep their totals: they cannot be traced back to anyone.
            await self._delete_residents(conn, [resident_id])

    async def _delete_residents(self, conn: Conn, resident_ids: Sequence[int]) -> None:
        # Children before parents, so no backend needs ON DELETE CASCADE.
        for column in reversed(self.resident_columns()):
            await conn.execute(sa.delete(column.table).where(column.in_(list(resident_ids))))

    # Retention: rows kept only for a while. A periodic task calls these; each deletes at most
    # ``limit`` rows per call (one short write transaction), so call again while it returns
    # ``limit``.

    async def purge_unconsented(self, *, older_than: dt.timedelta, limit: int = 500) -> int:
        """Forget residents who never accepted the privacy notice, unseen for ``older_than``.

        Everything about them goes, as with /forget, and so do updates of theirs still waiting
        in the inbox. Returns how many residents were forgotten.
        """
        cutoff = self._now() - older_than
        async with self._write() as conn:
            ids = [
                int(resident_id)
                for resident_id in (
                    await conn.execute(
                        sa.select(residents.c.id)
                        .where(residents.c.consent_at.is_(None), residents.c.last_seen_at < cutoff)
                        .limit(limit)
                    )
                ).scalars()
            ]
            if ids:
                await self._delete_residents(conn, ids)
                await self._delete_inbox_of(conn, set(ids))
        return len(ids)

    async def _delete_inbox_of(self, conn: Conn, resident_ids: set[int]) -> None:
        # Only updates not yet handled keep a payload; they are few, so they are read here.
        rows = await conn.execute(
            sa.select(inbox.c.update_id, inbox.c.payload).where(inbox.c.payload.is_not(None))
        )
        doomed = [
            row.update_id
            for row in rows.all()
            if self._update_people(json.loads(row.payload)) & resident_ids
        ]
        if doomed:
            await conn.execute(sa.delete(inbox).where(inbox.c.update_id.in_(doomed)))

    async def purge_audit_log(self, *, older_than: dt.timedelta, limit: int = 5000) -> int:
        """Drop administrators' audit rows older than ``older_than``."""
        cutoff = self._now() - older_than
        async with self._write() as conn:
            old = sa.select(admin_audit.c.id).where(admin_audit.c.at < cutoff).limit(limit)
            result = await conn.execute(sa.delete(admin_audit).where(admin_audit.c.id.in_(old)))
            return int(result.rowcount)

    async def purge_deliveries(self, *, older_than: dt.timedelta, limit: int = 5000) -> int:
        """Drop who-received-what rows of broadcasts finished before ``older_than`` ago.

        The broadcast keeps its counters (sent, failed, blocked, skipped).
        """
        cutoff = self._now() - older_than
        d, b = broadcast_deliveries, broadcasts
        finished = sa.select(b.c.id).where(
            b.c.status.in_(("done", "cancelled")),
            sa.func.coalesce(b.c.finished_at, b.c.created_at) < cutoff,
        )
        async with self._write() as conn:
            keys = (
                await conn.execute(
                    sa.select(d.c.broadcast_id, d.c.resident_id)
                    .where(d.c.broadcast_id.in_(finished))
                    .limit(limit)
                )
            ).all()
            for broadcast_id in {key.broadcast_id for key in keys}:
                residents_ = [key.resident_id for key in keys if key.broadcast_id == broadcast_id]
                await conn.execute(
                    sa.delete(d).where(
                        d.c.broadcast_id == broadcast_id, d.c.resident_id.in_(residents_)
                    )
                )
        return len(keys)

    async def purge_broadcasts(self, *, older_than: dt.timedelta, limit: int = 500) -> int:
        """Drop broadcasts (their text and counters) finished, cancelled or left as drafts
        before ``older_than`` ago, with any delivery rows they still have."""
        cutoff = self._now() - older_than
        d, b = broadcast_deliveries, broadcasts
        async with self._write() as conn:
            ids = [
                int(broadcast_id)
                for broadcast_id in (
                    await conn.execute(
                        sa.select(b.c.id)
                        .where(
                            b.c.status.in_(("done", "cancelled", "draft")),
                            sa.func.coalesce(b.c.finished_at, b.c.created_at) < cutoff,
                        )
                        .limit(limit)
                    )
                ).scalars()
            ]
            if ids:
                await conn.execute(sa.delete(d).where(d.c.broadcast_id.in_(ids)))
                await conn.execute(sa.delete(b).where(b.c.id.in_(ids)))
        return len(ids)

    async def purge_state(self, *, key: str) -> bool:
        """Forget one piece of application state (e.g. a secret an older finlit kept)."""
        async with self._write() as conn:
            result = await conn.execute(sa.delete(app_state).where(app_state.c.key == key))
            return int(result.rowcount) > 0

    @staticmethod
    def _update_people(update: dict[str, Any]) -> set[int]:
        """The user and chat ids an update (a Telegram JSON object) is from or about."""
        found: set[int] = set()
        for part in update.values():
            if not isinstance(part, dict):
                continue
            for holder in (part, part.get("message")):
                if not isinstance(holder, dict):
                    continue
                for key in ("from", "chat"):
                    who = holder.get(key)
                    if isinstance(who, dict) and isinstance(who.get("id"), int):
                        found.add(who["id"])
        return found


def _resident(row: sa.Row[Any]) -> Resident:
    return Resident(
        id=row.id,
        language=row.language,
        consent_at=_aware(row.consent_at) if row.consent_at else None,
        # Before consent versions (migration 0010) a consent was to version 1.
        consent_version=row.consent_version or (1 if row.consent_at else None),
        consent_asked=row.consent_asked,
    )


def _broadcast(row: sa.Row[Any]) -> Broadcast:
    return Broadcast(
        id=row.id,
        admin_id=row.admin_id,
        cohort_id=row.cohort_id,
        text=row.text,
        status=row.status,
        recipients=row.recipients,
        sent=row.sent,
        failed=row.failed,
        blocked=row.blocked,
        skipped=row.skipped,
    )


def _attempt(row: sa.Row[Any]) -> Attempt:
    return Attempt(
        id=row.id,
        resident_id=row.resident_id,
        lesson_id=row.lesson_id,
        kind=row.kind,
        question_ids=tuple(json.loads(row.question_ids)),
        position=row.position,
        updated_at=_aware(row.updated_at),
        finished_at=_aware(row.finished_at) if row.finished_at else None,
    )


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
        finished_at=_aware(row.finished_at) if row.finished_at else None,
        scores=scores,
        instrument_version=row.instrument_version,
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, dt.datetime):
            value = _aware(value).isoformat()
        elif key in ("question_ids", "item_ids"):
            value = json.loads(value)
        out[key] = value
    return out
