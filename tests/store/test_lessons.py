"""The lessons' port (``store.lessons``), on every backend."""

from __future__ import annotations

from bot.core.progress import LessonStatus
from bot.store import Store


class TestLessons:
    """The card a resident is on, and the lessons they finished."""

    async def test_lesson_progress_and_completion(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        await store.lessons.open_card(resident_id=1, lesson_id="a", card_index=2)
        position = await store.lessons.in_progress(resident_id=1)
        assert position is not None and (position.lesson_id, position.card_index) == ("a", 2)
        await store.lessons.complete(resident_id=1, lesson_id="a")
        await store.lessons.open_card(
            resident_id=1, lesson_id="a", card_index=0
        )  # rereading a done lesson
        state = await store.lessons.resident_state(resident_id=1)
        assert state.status("a") is LessonStatus.DONE
        assert await store.lessons.in_progress(resident_id=1) is None
