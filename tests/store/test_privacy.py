"""The privacy port (``store.privacy``: /mydata and /forget), on every backend.

tests/test_privacy_store.py holds the rules about which tables name a person, retention, and
error messages."""

from __future__ import annotations

import datetime as dt

from bot.store import Store
from tests.store.conftest import Clock


class TestPrivacy:
    """Everything about a resident shown, or deleted; nobody else's."""

    async def test_export_and_forget_cover_every_row(self, store: Store) -> None:
        for resident_id in (1, 2):
            await store.residents.ensure(resident_id=resident_id, language="zh")
            await store.lessons.open_card(resident_id=resident_id, lesson_id="a", card_index=0)
            attempt = await store.quizzes.start(
                resident_id=resident_id, lesson_id="a", question_ids=["q1"], kind="full"
            )
            await store.quizzes.record_answer(
                attempt=attempt, position=0, option_index=0, correct=True
            )
            sitting = await store.checkups.start(
                resident_id=resident_id, kind="baseline", item_ids=["k1"]
            )
            await store.checkups.record_answer(
                sitting=sitting, position=0, option_index=None, points=0
            )
            cohort = await store.cohorts.create(code=f"c{resident_id}", name="Dawa", created_by=9)
            await store.cohorts.join(resident_id=resident_id, cohort_id=cohort.id)
            # The fraud tools (issue 16): a loan calculator half-way, and a drill answered.
            await store.loans.start(resident_id=resident_id, step="received")
            await store.drills.record(
                resident_id=resident_id, drill_id="d", answer="scam", correct=True
            )
            await store.checks.wait_for_message(resident_id=resident_id)  # the scam checker
            # An update still waiting to be handled, and a replica's claim on the chat.
            waiting = {"update_id": 100 + resident_id, "message": {"text": "hi"}}
            await store.inbox.accept([waiting], residents=[resident_id])
            assert await store.replicas.claim_chat(chat_id=resident_id) is not None
        exported = await store.privacy.export(resident_id=1)
        assert {k: len(v) for k, v in exported.items()} == {
            "residents": 1,
            "lesson_progress": 1,
            "quiz_attempts": 1,
            "answers": 1,
            "assessment_sittings": 1,
            "assessment_answers": 1,
            "cohort_members": 1,
            "broadcast_deliveries": 0,
            "latest_answers": 1,
            "outbox": 0,
            "exports": 0,
            "loan_sessions": 1,
            "drill_answers": 1,
            "check_waits": 1,
            "inbox": 1,
            "outbox_claims": 1,
        }
        await store.privacy.forget(resident_id=1)
        assert {k: len(v) for k, v in (await store.privacy.export(resident_id=1)).items()} == {
            "residents": 0,
            "lesson_progress": 0,
            "quiz_attempts": 0,
            "answers": 0,
            "assessment_sittings": 0,
            "assessment_answers": 0,
            "cohort_members": 0,
            "broadcast_deliveries": 0,
            "latest_answers": 0,
            "outbox": 0,
            "exports": 0,
            "loan_sessions": 0,
            "drill_answers": 0,
            "check_waits": 0,
            "inbox": 0,
            "outbox_claims": 0,
        }
        assert (await store.residents.get(resident_id=2)) is not None  # others untouched
        assert len((await store.privacy.export(resident_id=2))["answers"]) == 1
        assert len((await store.privacy.export(resident_id=2))["assessment_answers"]) == 1
        assert len((await store.privacy.export(resident_id=2))["inbox"]) == 1

    async def test_unconsented_residents_go_with_their_waiting_updates(
        self, store: Store, clock: Clock
    ) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        await store.residents.give_consent(resident_id=1)
        await store.residents.ensure(resident_id=2, language="zh")  # never agreed
        theirs = {"update_id": 1, "message": {"from": {"id": 2}, "chat": {"id": 2}, "text": "hi"}}
        kept = {"update_id": 2, "callback_query": {"from": {"id": 1}, "data": "x"}}
        await store.inbox.accept([theirs, kept], residents=[2, 1])
        month = dt.timedelta(days=30)
        assert await store.privacy.purge_unconsented(older_than=month) == 0  # seen just now
        clock.advance(month + dt.timedelta(days=1))
        assert await store.privacy.purge_unconsented(older_than=month) == 1
        assert await store.residents.get(resident_id=2) is None
        assert await store.residents.get(resident_id=1) is not None
        assert await store.inbox.pending() == [kept]
