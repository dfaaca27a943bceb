"""Handlers: parse an update, call the core, show the reply. Registered in ``register``."""

from __future__ import annotations

import logging
from typing import cast

from telegram import BotCommand, BotCommandScopeChat, Chat, ChatMemberUpdated, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.core.i18n import LANGUAGES
from bot.core.tutor import Visitor
from bot.telegram.context import FinlitApplication, FinlitContext
from bot.telegram.metrics import METRICS
from bot.telegram.show import CURRENT, after_commit, answer_query, show

log = logging.getLogger(__name__)


def visitor_of(update: Update) -> Visitor:
    user = update.effective_user
    if user is None:  # filters only let updates with a user through
        raise ValueError("update has no user")
    return Visitor(id=user.id, language_hint=user.language_code, name=user.first_name)


async def on_text(update: Update, context: FinlitContext) -> None:
    """Anything typed in private: commands (residents' and administrators') and free text."""
    message = cast(Message, update.effective_message)
    visitor = visitor_of(update)
    reply = await context.services.tutor.text(visitor, message.text or "")
    await show(context.bot, message.chat_id, reply)
    admins = context.services.settings.admin_ids
    if visitor.id in admins and visitor.id not in context.bot_data.admin_menus:
        application = cast(FinlitApplication, context.application)
        await after_commit(lambda: publish_admin_menu(application, visitor.id))


async def on_press(update: Update, context: FinlitContext) -> None:
    """A button press: always answered, stale or forged ones included."""
    query = update.callback_query
    if query is None:
        return
    tutor = context.services.tutor
    message = query.message
    if message is None or message.chat.type != Chat.PRIVATE:
        pointer = tutor.group_pointer(query.from_user.language_code)
        await answer_query(query)
        if message is not None:
            await show(context.bot, message.chat.id, pointer)
        return
    reply = await tutor.press(visitor_of(update), query.data)
    # The answer is stored by now; stop the button's spinner before the (slower) edit.
    await answer_query(query, reply.notice)
    await show(context.bot, message.chat.id, reply, edit_message_id=message.message_id)


async def on_chatter(update: Update, context: FinlitContext) -> None:
    """Free text, unknown commands, stickers, photos, voice: point to the menu."""
    chat = cast(Chat, update.effective_chat)
    reply = await context.services.tutor.chatter(visitor_of(update))
    await show(context.bot, chat.id, reply)


async def on_group_command(update: Update, context: FinlitContext) -> None:
    """A command in a group: say the bot works in private chat, and nothing more."""
    chat = cast(Chat, update.effective_chat)
    user = update.effective_user
    reply = context.services.tutor.group_pointer(user.language_code if user else None)
    await show(context.bot, chat.id, reply)


async def on_membership(update: Update, context: FinlitContext) -> None:
    """The bot's membership changed: a resident blocked or unblocked it, or a group added it."""
    change = cast(ChatMemberUpdated, update.my_chat_member)
    joined = change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
    )
    if change.chat.type == Chat.PRIVATE:
        # Kept in step with Telegram, so nothing is attempted while the bot is blocked.
        await context.services.store.set_blocked(resident_id=change.chat.id, blocked=not joined)
        return
    was_out = change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    if joined and was_out:
        reply = context.services.tutor.group_pointer(change.from_user.language_code)
        await show(context.bot, change.chat.id, reply)


async def on_error(update: object, context: FinlitContext) -> None:
    """Log the failure without message text or names, and apologise to the resident."""
    update_id = update.update_id if isinstance(update, Update) else None
    METRICS.inc("finlit_handler_errors_total")
    log.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )
    if not isinstance(update, Update) or context.bot_data.services is None:
        return
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != Chat.PRIVATE:
        return
    tutor = context.services.tutor
    pending = CURRENT.get()
    if pending is not None:
        # Inside the update's transaction: it is rolled back, then only an apology is sent.
        pending.failed = (chat.id, user.id, user.language_code)
        if update.callback_query is not None and not pending.answers:
            pending.answers.append((update.callback_query, None))
        return
    try:
        language = await tutor.language_of(user.id, user.language_code)
        if update.callback_query is not None:
            await answer_query(update.callback_query)
        await show(context.bot, chat.id, tutor.apology(language))
    except Exception:  # the apology must never raise out of the error handler
        log.exception("could not apologise for update %s", update_id)


def register(application: FinlitApplication) -> None:
    """Wire the handlers. Order matters: the first matching handler in group 0 wins."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handlers(
        [
            # Groups first, so nothing below ever answers there beyond the pointer.
            MessageHandler(groups & filters.COMMAND, on_group_command),
            ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(private & filters.TEXT & ~filters.UpdateType.EDITED, on_text),
            CallbackQueryHandler(on_press),
            # Last: everything else a resident sends in private (stickers, photos, voice...).
            # Edited messages are ignored: an edit is not a new request.
            MessageHandler(private & ~filters.UpdateType.EDITED, on_chatter),
        ]
    )
    application.add_error_handler(on_error)


async def publish_commands(application: FinlitApplication) -> None:
    """Set Telegram's command menu in every language (and the default one), and the
    administrators' own menus, which add their commands to the residents' ones."""
    bot_data = application.bot_data
    if bot_data.content is None or bot_data.settings is None:
        return
    content, settings = bot_data.content, bot_data.settings
    for language in (*LANGUAGES, None):
        texts = content.ui[language or settings.default_language].commands
        commands = [BotCommand(name, description) for name, description in texts]
        await application.bot.set_my_commands(commands, language_code=language)
    for admin_id in sorted(settings.admin_ids):
        await publish_admin_menu(application, admin_id)


async def publish_admin_menu(application: FinlitApplication, admin_id: int) -> bool:
    """Show an administrator their commands, in their chat only; False if Telegram cannot yet.

    Telegram knows an administrator's chat only once they have written to the bot, so a new
    administrator's menu is set at their first message (see ``on_text``).
    """
    bot_data = application.bot_data
    if bot_data.content is None or bot_data.settings is None:
        return False
    content, settings = bot_data.content, bot_data.settings
    scope = BotCommandScopeChat(admin_id)
    try:
        for language in (*LANGUAGES, None):
            ui = content.ui[language or settings.default_language]
            commands = [
                BotCommand(name, description)
                for menu in (ui.commands, ui.admin.commands)
                for name, description in menu
            ]
            await application.bot.set_my_commands(commands, scope=scope, language_code=language)
    except TelegramError as exc:
        log.info("an administrator's command menu is not set yet: %s", type(exc).__name__)
        return False
    bot_data.admin_menus.add(admin_id)
    return True
