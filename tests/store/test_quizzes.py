"""The quizzes' port (``store.quizzes``), on every backend."""

from __future__ import annotations

import asyncio

from bot.store import Store


class TestQuizzes:
    """Quiz sittings: each answer recorded once, the latest one deciding mastery."""

    async def test_answer_recorded_once_and_moves_the_sitting_on(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        attempt = await store.quizzes.start(
            resident_id=1, lesson_id="a", question_ids=["q1", "q2"], kind="full"
        )
        assert await store.quizzes.record_answer(
            attempt=attempt, position=0, option_index=1, correct=False
        )
        assert not await store.quizzes.record_answer(
            attempt=attempt, position=0, option_index=0, correct=True
        )
        recorded = await store.quizzes.answers(attempt_id=attempt.id)
        assert list(recorded) == ["q1"] and recorded["q1"].option_index == 1
        reloaded = await store.quizzes.get(attempt_id=attempt.id)
        assert reloaded is not None and reloaded.position == 1

    async def test_racing_presses_record_one_answer(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        attempt = await store.quizzes.start(
            resident_id=1, lesson_id="a", question_ids=["q1"], kind="full"
        )
        results = await asyncio.gather(
            *(
                store.quizzes.record_answer(
                    attempt=attempt, position=0, option_index=i % 2, correct=True
                )
                for i in range(6)
            )
        )
        assert sorted(results) == [False] * 5 + [True]
        assert len(await store.quizzes.answers(attempt_id=attempt.id)) == 1

    async def test_latest_answer_decides_mastery_and_tries_are_counted(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        first = await store.quizzes.start(
            resident_id=1, lesson_id="a", question_ids=["q1"], kind="full"
        )
        await store.quizzes.record_answer(attempt=first, position=0, option_index=0, correct=False)
        assert await store.quizzes.finish(attempt_id=first.id)
        assert not await store.quizzes.finish(attempt_id=first.id)
        retry = await store.quizzes.start(
            resident_id=1, lesson_id="a", question_ids=["q1"], kind="retry"
        )
        await store.quizzes.record_answer(attempt=retry, position=0, option_index=1, correct=True)
        state = await store.lessons.resident_state(resident_id=1)
        assert state.latest_correct == {"q1": True}
        exported = await store.privacy.export(resident_id=1)
        assert [a["try_number"] for a in exported["answers"]] == [1, 2]

    async def test_unfinished_attempt_is_the_latest_open_one(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        done = await store.quizzes.start(
            resident_id=1, lesson_id="a", question_ids=["q1"], kind="full"
        )
        await store.quizzes.finish(attempt_id=done.id)
        assert await store.quizzes.unfinished(resident_id=1) is None
        open_one = await store.quizzes.start(
            resident_id=1, lesson_id="b", question_ids=["q2"], kind="full"
        )
        found = await store.quizzes.unfinished(resident_id=1)
        assert found is not None and found.id == open_one.id
