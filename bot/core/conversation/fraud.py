"""The fraud tools' buttons and commands, handed to their desks in ``bot.core.fraud``."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.consent import TOOLS
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident
from bot.core.replies import Reply


async def check_message(conv: Conversation, press: Press, action: cb.CheckMessage) -> Reply:
    """ "Check a message": the next text is checked (a new message)."""
    return await conv.checks.ask(press.resident.id, press.language, edit=False)


async def check_command(conv: Conversation, resident: Resident) -> Reply:
    """/check."""
    return await conv.checks.ask(resident.id, resident.language, edit=False)


async def drill_next(conv: Conversation, press: Press, action: cb.DrillNext) -> Reply:
    """The next spot-the-scam drill."""
    if refused := await conv.agreement_needed(press.resident, TOOLS, edit=True):
        return refused
    return await conv.drills.next(press.resident.id, press.language, edit=True)


async def drill_command(conv: Conversation, resident: Resident) -> Reply:
    """/drill."""
    if refused := await conv.agreement_needed(resident, TOOLS, edit=False):
        return refused
    return await conv.drills.next(resident.id, resident.language, edit=False)


async def drill_answer(conv: Conversation, press: Press, action: cb.DrillAnswer) -> Reply:
    """An answer to a drill, explained."""
    if refused := await conv.agreement_needed(press.resident, TOOLS, edit=True):
        return refused
    drilled = await conv.drills.answer(
        press.resident.id, press.language, action.drill_id, action.answer
    )
    return drilled if drilled is not None else conv.stale(press.language)


async def loan_start(conv: Conversation, press: Press, action: cb.LoanStart) -> Reply:
    """The loan calculator, from its first question."""
    if refused := await conv.agreement_needed(press.resident, TOOLS, edit=True):
        return refused
    return await conv.loans.start(press.resident.id, press.language, edit=True)


async def loan_command(conv: Conversation, resident: Resident) -> Reply:
    """/loan."""
    if refused := await conv.agreement_needed(resident, TOOLS, edit=False):
        return refused
    return await conv.loans.start(resident.id, resident.language, edit=False)


async def loan_choose(conv: Conversation, press: Press, action: cb.LoanChoose) -> Reply:
    """A choice in the loan calculator."""
    if refused := await conv.agreement_needed(press.resident, TOOLS, edit=True):
        return refused
    picked = await conv.loans.choose(press.resident.id, press.language, action)
    return picked if picked is not None else conv.stale(press.language)


async def loan_stop(conv: Conversation, press: Press, action: cb.LoanStop) -> Reply:
    """The loan calculator closed (its typed numbers deleted)."""
    content, language = conv.content, press.language
    if not await conv.loans.stop(press.resident.id, action.session):
        return conv.stale(language)
    assert content.loans is not None
    notice = content.loans.texts[language].stopped
    return Reply((screens.main_menu(content, language, notice=notice),), edit=True)
