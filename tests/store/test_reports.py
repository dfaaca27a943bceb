"""The administrators' reads (``bot.store.reports.Reports``): the contract on every backend.

Each figure is checked against what the test itself recorded, so a query that counts retries
as first tries, leaks another cohort's answers or loses a batch fails here on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

from bot.store import Store
from bot.store.reports import EXPORT_BATCH, Reports

QUESTIONS = ["q1", "q2"]


async def consented(store: Store, *resident_ids: int) -> None:
    for resident_id in resident_ids:
        await store.residents.ensure(resident_id=resident_id, language="zh")
        await store.residents.give_consent(resident_id=resident_id)


async def attempt(store: Store, resident_id: int, choices: list[tuple[str, bool]]) -> None:
    """One attempt at the lesson's two questions, answering with (option id, correct)."""
    started = await store.quizzes.start(
        resident_id=resident_id, lesson_id="l1", question_ids=QUESTIONS, kind="full"
    )
    for position, (option_id, correct) in enumerate(choices):
        await store.quizzes.record_answer(
            attempt=started,
            position=position,
            option_index=0 if correct else 1,
            option_id=option_id,
            correct=correct,
        )
    await store.quizzes.finish(attempt_id=started.id)


class TestReports:
    async def test_item_tallies_count_wrong_options_on_first_tries_only(self, store: Store) -> None:
        await consented(store, 1, 2, 3)
        await attempt(store, 1, [("b", False), ("a", True)])
        await attempt(store, 1, [("c", False), ("a", True)])  # a retry: not a first try
        await attempt(store, 2, [("b", False), ("c", False)])
        await attempt(store, 3, [("a", True), ("a", True)])

        tallies = await Reports(store.engine).item_tallies(question_ids=[*QUESTIONS, "unseen"])

        assert set(tallies) == {"q1", "q2"}  # nobody answered "unseen": no row, not zeros
        assert tallies["q1"].residents == 3
        assert tallies["q1"].first_try_correct == 1
        assert tallies["q1"].answers == 4
        assert tallies["q1"].wrong_first_tries == {"b": 2}
        assert tallies["q2"].first_try_correct == 2
        assert tallies["q2"].wrong_first_tries == {"c": 1}

    async def test_answer_batches_stream_every_answer_in_order_and_keep_to_the_cohort(
        self, store: Store
    ) -> None:
        await consented(store, 1, 2)
        cohort = await store.cohorts.create(code="dawa", name="Dawa", created_by=99)
        await store.cohorts.join(resident_id=2, cohort_id=cohort.id)
        # More answers than one batch, so the stream must go on past the first.
        rounds = EXPORT_BATCH // 2 + 3
        for _ in range(rounds):
            await attempt(store, 1, [("a", True), ("b", False)])
        await attempt(store, 2, [("b", False), ("a", True)])
        reports = Reports(store.engine)

        everyone = [row async for batch in reports.answer_batches(cohort_id=None) for row in batch]
        in_cohort = [
            row async for batch in reports.answer_batches(cohort_id=cohort.id) for row in batch
        ]

        assert len(everyone) == 2 * rounds + 2
        assert [row[0] for row in everyone] == [1] * (2 * rounds) + [2, 2]  # in recorded order
        assert [(row[0], row[2], row[4], row[5]) for row in in_cohort] == [
            (2, "q1", "b", False),
            (2, "q2", "a", True),
        ]

    async def test_answering_residents_and_cohort_overlap(self, store: Store) -> None:
        await consented(store, 1, 2, 3, 4)
        await store.residents.ensure(resident_id=5, language="en")  # never consented
        dawa = await store.cohorts.create(code="dawa", name="Dawa", created_by=99)
        lishu = await store.cohorts.create(code="lishu", name="Lishu", created_by=99)
        for resident_id in (1, 2, 3):
            await store.cohorts.join(resident_id=resident_id, cohort_id=dawa.id)
        for resident_id in (3, 4):
            await store.cohorts.join(resident_id=resident_id, cohort_id=lishu.id)
        await attempt(store, 1, [("a", True), ("a", True)])
        await attempt(store, 4, [("a", True), ("a", True)])
        reports = Reports(store.engine)

        assert await reports.answering_residents(cohort_id=None) == 2
        assert await reports.answering_residents(cohort_id=dawa.id) == 1
        overlap = await reports.cohort_overlap(cohort_id=dawa.id)
        assert overlap.members == 3
        assert overlap.population == 4  # the unconsented resident is not counted
        assert overlap.differences == {lishu.id: 3}  # 1 and 2 only in Dawa, 4 only in Lishu
