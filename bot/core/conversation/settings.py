"""Settings: the resident's language and whether administrators' announcements reach them."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident
from bot.core.replies import Reply


async def choose_language(conv: Conversation, press: Press, action: cb.ChooseLanguage) -> Reply:
    """The language button: the choice of languages."""
    return Reply((screens.language_choice(conv.content, press.language),), edit=True)


async def language_command(conv: Conversation, resident: Resident) -> Reply:
    """/language."""
    return Reply((screens.language_choice(conv.content, resident.language),))


async def set_language(conv: Conversation, press: Press, action: cb.SetLanguage) -> Reply:
    """A language chosen (also on the welcome screen, before consent)."""
    content, resident, chosen = conv.content, press.resident, action.language
    await conv.store.residents.set_language(resident_id=resident.id, language=chosen)
    if not resident.consented:
        welcome = screens.welcome(content, chosen, name=press.visitor.name, unknown_link=False)
        return Reply((welcome,), edit=True)
    notice = content.ui[chosen].language_set
    return Reply((screens.main_menu(content, chosen, notice=notice),), edit=True)


async def settings_command(conv: Conversation, resident: Resident) -> Reply:
    """/settings."""
    on = await conv.store.residents.announcements(resident_id=resident.id)
    news = conv.news(resident)
    screen = screens.settings_screen(conv.content, resident.language, on=on, news=news)
    return Reply((screen,))


async def set_announcements(conv: Conversation, press: Press, action: cb.SetAnnouncements) -> Reply:
    """Announcements on or off, from /settings or from an announcement's own button."""
    resident, language, on = press.resident, press.language, action.on
    ui = conv.content.ui[language]
    await conv.store.residents.set_announcements(resident_id=resident.id, on=on)
    notice = ui.announcements_turned_on if on else ui.announcements_turned_off
    # From an announcement's own button (edit=False) the announcement stays put.
    news = conv.news(resident)
    screen = screens.settings_screen(conv.content, language, on=on, notice=notice, news=news)
    return Reply((screen,), edit=action.edit, notice=notice)
