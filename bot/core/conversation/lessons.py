"""Lessons: topics, a topic's lessons, cards, their sources, "continue" and progress."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation import quiz
from bot.core.conversation.base import Conversation, Press
from bot.core.curriculum import Lesson
from bot.core.models import Resident
from bot.core.progress import next_lesson, progress_report
from bot.core.replies import Reply, Screen


async def topics(conv: Conversation, press: Press, action: cb.Topics) -> Reply:
    """Every topic with how far the resident got."""
    state = await conv.store.lessons.resident_state(resident_id=press.resident.id)
    return Reply((screens.topics(conv.content, press.language, state),), edit=True)


async def open_topic(conv: Conversation, press: Press, action: cb.OpenTopic) -> Reply:
    """A topic's lessons."""
    topic = conv.content.curriculum.topic(action.topic_id)
    if topic is None:
        return conv.stale(press.language)
    state = await conv.store.lessons.resident_state(resident_id=press.resident.id)
    return Reply((screens.topic(conv.content, press.language, topic, state),), edit=True)


async def show_card(conv: Conversation, press: Press, action: cb.ShowCard) -> Reply:
    """A lesson's card (its place in the lesson is stored)."""
    return await card(conv, press.resident, action.lesson_id, action.index)


async def card(conv: Conversation, resident: Resident, lesson_id: str, index: int) -> Reply:
    """Store that ``resident`` reads card ``index`` of the lesson, and show it."""
    lesson = conv.content.curriculum.lesson(lesson_id)
    topic = conv.content.curriculum.topic_of(lesson_id)
    if lesson is None or topic is None or not 0 <= index < len(lesson.cards):
        return conv.stale(resident.language)
    await conv.store.lessons.open_card(
        resident_id=resident.id, lesson_id=lesson_id, card_index=index
    )
    screen = screens.card(conv.content, resident.language, topic, lesson, index)
    return Reply((screen,), edit=True)


async def card_sources(conv: Conversation, press: Press, action: cb.CardSources) -> Reply:
    """Who says what a card says."""
    content, language = conv.content, press.language
    lesson = content.curriculum.lesson(action.lesson_id)
    if lesson is None or not 0 <= action.index < len(lesson.cards):
        return conv.stale(language)
    found = lesson.sources_of_card(action.index)
    if not found:
        return conv.stale(language)
    # A new message under the card: the card and its buttons stay as they are.
    return Reply((screens.sources(content, language, found),))


async def question_sources(conv: Conversation, press: Press, action: cb.QuestionSources) -> Reply:
    """Who says what a question's explanation says."""
    content, language = conv.content, press.language
    lesson = content.curriculum.lesson_of(action.question_id)
    question = content.curriculum.question(action.question_id)
    if lesson is None or question is None or not lesson.sources_of(question):
        return conv.stale(language)
    return Reply((screens.sources(content, language, lesson.sources_of(question)),))


async def carry_on(conv: Conversation, press: Press, action: cb.Continue) -> Reply:
    """Back to the most recent unfinished quiz or lesson, else the next lesson in order."""
    resident = press.resident
    attempt = await conv.store.quizzes.unfinished(resident_id=resident.id)
    reading = await conv.store.lessons.in_progress(resident_id=resident.id)
    if attempt is not None and (reading is None or attempt.updated_at >= reading.updated_at):
        if attempt.position >= len(attempt.question_ids):
            return await quiz.result(conv, resident, attempt)
        reply = quiz.question_or_stale(conv, resident, attempt, attempt.position)
        if reply.notice is None:
            return reply
    if reading is not None:
        lesson = conv.content.curriculum.lesson(reading.lesson_id)
        if lesson is not None:
            index = min(reading.card_index, len(lesson.cards) - 1)
            return await card(conv, resident, lesson.id, index)
    state = await conv.store.lessons.resident_state(resident_id=resident.id)
    upcoming: Lesson | None = next_lesson(conv.content.curriculum, state, after=None)
    if upcoming is not None:
        return await card(conv, resident, upcoming.id, 0)
    text = conv.content.ui[resident.language].all_lessons_done
    return Reply((screens.notice_with_menu(conv.content, resident.language, text),), edit=True)


async def progress(conv: Conversation, press: Press, action: cb.Progress) -> Reply:
    """The progress button."""
    return Reply((await _progress(conv, press.resident),), edit=True)


async def progress_command(conv: Conversation, resident: Resident) -> Reply:
    """/progress."""
    return Reply((await _progress(conv, resident),))


async def _progress(conv: Conversation, resident: Resident) -> Screen:
    state = await conv.store.lessons.resident_state(resident_id=resident.id)
    report = progress_report(conv.content.curriculum, state)
    return screens.progress(conv.content, resident.language, report)
