"""The main menu and help."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident
from bot.core.replies import Reply


async def menu(conv: Conversation, press: Press, action: cb.Menu) -> Reply:
    """The menu button."""
    return Reply((screens.main_menu(conv.content, press.language),), edit=True)


async def menu_command(conv: Conversation, resident: Resident) -> Reply:
    """/menu."""
    return Reply((screens.main_menu(conv.content, resident.language),))


async def help_button(conv: Conversation, press: Press, action: cb.Help) -> Reply:
    """The help button."""
    return Reply((screens.help_screen(conv.content, press.language),), edit=True)


async def help_command(conv: Conversation, resident: Resident) -> Reply:
    """/help."""
    return Reply((screens.help_screen(conv.content, resident.language),))
