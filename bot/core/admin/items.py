"""/items [topic]: item analysis per question, from first tries, retries counted apart."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.admin import screens
from bot.core.admin.common import Desk
from bot.core.admin.report_text import item_rows
from bot.core.curriculum import Question
from bot.core.i18n import Language
from bot.core.replies import Reply


async def show_items(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/items [topic]: a line per question answered, a page per 30 lines."""
    texts = desk.content.ui[language].admin
    topic_id = args.strip()
    curriculum = desk.content.curriculum
    topics = curriculum.topics
    if topic_id:
        topic = curriculum.topic(topic_id)
        if topic is None:
            codes = ", ".join(t.id for t in topics)
            refusal = texts.unknown_topic.format(topics=codes)
            return Reply((screens.notice(desk.content, language, refusal),))
        topics = (topic,)
    questions = [q for t in topics for lesson in t.lessons for q in lesson.quiz]
    rows = await rows_for(desk, language, questions)
    heading = texts.items_title.format(
        topic=f" · {topics[0].title.get(language)}" if topic_id else ""
    )
    return Reply(screens.item_pages(desk.content, language, heading, rows))


async def rows_for(
    desk: Desk, language: Language, questions: Sequence[Question]
) -> list[dict[str, str]]:
    """The item analysis's rows for these questions (withheld below k)."""
    tallies = await desk.reports.item_tallies(question_ids=[q.id for q in questions])
    return item_rows(desk.content, language, questions, tallies, min_group=desk.min_group)
