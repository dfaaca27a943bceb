"""The optional profile questions after consent; then the baseline check-up offer."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation.base import Conversation, Press
from bot.core.profile import DECLINED
from bot.core.replies import Reply


async def start(conv: Conversation, press: Press, action: cb.ProfileStart) -> Reply:
    """The first question."""
    return Reply((screens.profile_question(conv.content, press.language, 0),), edit=True)


async def answer(conv: Conversation, press: Press, action: cb.ProfileAnswer) -> Reply:
    """An option chosen."""
    return await _answer(conv, press, action.question, action.option)


async def decline(conv: Conversation, press: Press, action: cb.ProfileDecline) -> Reply:
    """ "Prefer not to say"."""
    return await _answer(conv, press, action.question, None)


async def skip(conv: Conversation, press: Press, action: cb.ProfileSkip) -> Reply:
    """No (more) profile questions: the baseline check-up offer."""
    return Reply((screens.checkup_offer(conv.content, press.language, final=False),), edit=True)


async def _answer(conv: Conversation, press: Press, index: int, option: int | None) -> Reply:
    """Store one profile answer (None: prefer not to say), then the next question."""
    content, language = conv.content, press.language
    questions = content.profile.questions
    if not 0 <= index < len(questions):
        return conv.stale(language)
    question = questions[index]
    if option is not None and not 0 <= option < len(question.options):
        return conv.stale(language)
    value = DECLINED if option is None else question.options[option].id
    await conv.store.residents.set_profile(
        resident_id=press.resident.id, field=question.id, value=value
    )
    if index + 1 < len(questions):
        return Reply((screens.profile_question(content, language, index + 1),), edit=True)
    return Reply((screens.checkup_offer(content, language, final=False),), edit=True)
