"""A lesson's quiz: start (or resume), answer, next question, result, retry what was missed."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation import checkup
from bot.core.conversation.base import Conversation, Press
from bot.core.curriculum import shown_order
from bot.core.models import Attempt, Resident
from bot.core.progress import next_lesson, score_attempt
from bot.core.replies import Reply

FULL_QUIZ = "full"
RETRY_QUIZ = "retry"


async def start(conv: Conversation, press: Press, action: cb.StartQuiz) -> Reply:
    """ "Take the quiz": a new attempt, or the unfinished one of the same lesson."""
    resident = press.resident
    lesson = conv.content.curriculum.lesson(action.lesson_id)
    if lesson is None:
        return conv.stale(resident.language)
    current = await conv.store.quizzes.unfinished(resident_id=resident.id)
    if current is not None and current.lesson_id == action.lesson_id and current.kind == FULL_QUIZ:
        attempt = current  # pressing "Take the quiz" twice resumes, it does not restart
    else:
        attempt = await conv.store.quizzes.start(
            resident_id=resident.id,
            lesson_id=action.lesson_id,
            question_ids=[q.id for q in lesson.quiz],
            kind=FULL_QUIZ,
        )
    return question_or_stale(conv, resident, attempt, attempt.position)


async def _owned_attempt(conv: Conversation, resident: Resident, attempt_id: int) -> Attempt | None:
    attempt = await conv.store.quizzes.get(attempt_id=attempt_id)
    if attempt is None or attempt.resident_id != resident.id:
        return None  # forged, or another resident's attempt
    return attempt


def question_or_stale(
    conv: Conversation, resident: Resident, attempt: Attempt, position: int
) -> Reply:
    """The attempt's question at ``position``, or the stale answer if content lost it."""
    content = conv.content
    lesson = content.curriculum.lesson(attempt.lesson_id)
    question = (
        content.curriculum.question(attempt.question_ids[position])
        if 0 <= position < len(attempt.question_ids)
        else None
    )
    if lesson is None or question is None:
        return conv.stale(resident.language)  # the content changed under this attempt
    screen = screens.question(
        content,
        resident.language,
        lesson,
        question,
        attempt_id=attempt.id,
        position=position,
        total=len(attempt.question_ids),
        order=shown_order(question, resident_id=resident.id, attempt_id=attempt.id),
    )
    return Reply((screen,), edit=True)


async def answer(conv: Conversation, press: Press, action: cb.Answer) -> Reply:
    """Record an answer and explain it. ``action.option`` is the option's id, or its position
    in content (an old, unshuffled button)."""
    resident, language, position = press.resident, press.language, action.position
    attempt = await _owned_attempt(conv, resident, action.attempt_id)
    if attempt is None or not 0 <= position < len(attempt.question_ids):
        return conv.stale(language)
    question = conv.content.curriculum.question(attempt.question_ids[position])
    if question is None:
        return conv.stale(language)
    chosen = action.option
    option = question.option_index(chosen) if isinstance(chosen, str) else chosen
    if option is None or not 0 <= option < len(question.options):
        return conv.stale(language)
    notice = None
    recorded = False
    if position == attempt.position and not attempt.finished:
        recorded = await conv.store.quizzes.record_answer(
            attempt=attempt,
            position=position,
            option_index=option,
            option_id=question.options[option].id,
            correct=question.options[option].correct,
        )
    if not recorded:
        # Answered before (a double press, a redelivered update, an old message): show what
        # was recorded the first time, never record a second answer.
        earlier = (await conv.store.quizzes.answers(attempt_id=attempt.id)).get(question.id)
        before = None
        if earlier is not None:
            before = (
                question.option_index(earlier.option_id)
                if earlier.option_id is not None
                else earlier.option_index
            )
        if before is None or before >= len(question.options):
            return conv.stale(language)
        option = before
        notice = conv.content.ui[language].already_answered
    screen = screens.feedback(
        conv.content,
        language,
        question,
        chosen=option,
        attempt_id=attempt.id,
        position=position,
        total=len(attempt.question_ids),
    )
    return Reply((screen,), edit=True, notice=notice)


async def next_question(conv: Conversation, press: Press, action: cb.NextQuestion) -> Reply:
    """The question that is due, or the result after the last one."""
    resident = press.resident
    attempt = await _owned_attempt(conv, resident, action.attempt_id)
    if attempt is None or action.position > attempt.position:
        return conv.stale(resident.language)
    if attempt.finished or attempt.position >= len(attempt.question_ids):
        return await result(conv, resident, attempt)
    # An old "Next" (position behind) lands on the question that is actually due.
    return question_or_stale(conv, resident, attempt, attempt.position)


async def result(conv: Conversation, resident: Resident, attempt: Attempt) -> Reply:
    """Close the attempt (a full quiz completes its lesson) and show how it went."""
    content = conv.content
    closed = await conv.store.quizzes.finish(attempt_id=attempt.id)
    offer = None
    if closed and attempt.kind == FULL_QUIZ:
        await conv.store.lessons.complete(resident_id=resident.id, lesson_id=attempt.lesson_id)
        offer = await checkup.final_offer(conv, resident)
    lesson = content.curriculum.lesson(attempt.lesson_id)
    if lesson is None:
        return conv.stale(resident.language)
    recorded = await conv.store.quizzes.answers(attempt_id=attempt.id)
    score = score_attempt(attempt.question_ids, {qid: a.correct for qid, a in recorded.items()})
    state = await conv.store.lessons.resident_state(resident_id=resident.id)
    following = next_lesson(content.curriculum, state, after=lesson.id)
    screen = screens.quiz_result(
        content,
        resident.language,
        lesson,
        score,
        attempt_id=attempt.id,
        following=following,
    )
    # One message for the tap: the check-up offer joins the result rather than following it.
    return Reply((screen if offer is None else screens.joined(screen, offer),), edit=True)


async def retry_missed(conv: Conversation, press: Press, action: cb.RetryMissed) -> Reply:
    """A new attempt with only the questions missed (or the result if none was)."""
    resident = press.resident
    attempt = await _owned_attempt(conv, resident, action.attempt_id)
    if attempt is None or not attempt.finished:
        return conv.stale(resident.language)
    recorded = await conv.store.quizzes.answers(attempt_id=attempt.id)
    missed = [
        qid
        for qid in attempt.question_ids
        if not (recorded.get(qid) and recorded[qid].correct)
        and conv.content.curriculum.question(qid) is not None
    ]
    if not missed:
        return await result(conv, resident, attempt)
    retry = await conv.store.quizzes.start(
        resident_id=resident.id,
        lesson_id=attempt.lesson_id,
        question_ids=missed,
        kind=RETRY_QUIZ,
    )
    return question_or_stale(conv, resident, retry, 0)
