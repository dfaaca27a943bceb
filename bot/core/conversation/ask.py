"""Ask in your own words (issue 17): the buttons of its answers, handed to ``bot.core.ask``'s
desk. Typed text itself arrives through ``tutor.Tutor.text``."""

from __future__ import annotations

import dataclasses

from bot.core import callbacks as cb
from bot.core.conversation import lessons
from bot.core.conversation.base import Conversation, Press
from bot.core.replies import Reply


async def scammed(conv: Conversation, press: Press, action: cb.Scammed) -> Reply:
    """ "I think I'm being scammed": the urgent advice and the after-fraud lesson."""
    if not press.resident.consented:  # an old menu after /forget: advice, nothing counted
        return conv.asks.urgent(press.language)
    return await conv.asks.scammed(press.language)


async def open_lesson(conv: Conversation, press: Press, action: cb.AskOpen) -> Reply:
    """A suggested lesson, from its first card, under the list (the other suggestions stay)."""
    if conv.content.curriculum.lesson(action.lesson_id) is None:
        return conv.stale(press.language)
    await conv.asks.opened()
    shown = await lessons.card(conv, press.resident, action.lesson_id, 0)
    return dataclasses.replace(shown, edit=False)
