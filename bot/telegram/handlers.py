"""Handlers: parse an update, call the core's unit of work. Registered in ``register``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Chat, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.core.conversation.tutor import Visitor
from bot.core.handling import (
    Chatter,
    Effect,
    Handled,
    Input,
    NotCommitted,
    Outgoing,
    Press,
    Render,
    Text,
    payloads,
    plain,
)
from bot.core.html import visible_text
from bot.core.i18n import LANGUAGES
from bot.core.replies import Reply, Screen
from bot.telegram.context import BotData, FinlitApplication, FinlitContext
from bot.telegram.metrics import METRICS
from bot.telegram.sending import describe
from bot.telegram.turn import Turn

log = logging.getLogger(__name__)
# A press whose reply will wait longer than this (a busy lecture) is answered "got it" at once.
LAG_TOAST_SECONDS = 1.5
# A group hears "I teach in private chat" at most this often.
GROUP_NOTE_EVERY = dt.timedelta(hours=1)


def visitor_of(update: Update) -> Visitor:
    user = update.effective_user
    if user is None:  # filters only let updates with a user through
        raise ValueError("update has no user")
    return Visitor(id=user.id, language_hint=user.language_code, name=user.first_name)


def turn_of(update: Update, context: FinlitContext) -> Turn:
    """The update's turn (processing.py made it before the handlers run)."""
    turn = context.turn
    if turn is None or turn.update_id != update.update_id:
        raise RuntimeError("updates are handled through DurableApplication (processing.py)")
    return turn


async def handle(
    update: Update,
    context: FinlitContext,
    given: Input,
    *,
    chat_id: int,
    render: Render = plain,
) -> Handled:
    """Call the core's unit of work for this update: its inbox done-mark commits with it."""
    turn = turn_of(update, context)
    store = context.services.store

    async def receipt() -> bool:
        # The resident's turn first (another replica may be handling their update: it waits
        # for that commit), then marked done: the mark commits with the effects or not at all,
        # and a redelivered update (here or on another replica) finds it, with no second effect.
        await store.inbox.take_turn(resident_id=turn.resident)
        return await store.inbox.finish(update_id=update.update_id)

    try:
        handled = await context.services.handling.handle(
            given,
            chat_id=chat_id,
            receipt=receipt,
            render=render,
            priority=turn.priority,
            reads_only=turn.reads_only,
        )
    except NotCommitted as exc:
        # Not the handler's failure but the database's: no apology, the update is tried again
        # (processing raises it to the handling slot); stopping here keeps python-telegram-bot
        # from calling the error handler.
        turn.retry = exc
        raise ApplicationHandlerStop from exc
    turn.took(handled)
    return handled


async def on_text(update: Update, context: FinlitContext) -> None:
    """Anything typed or forwarded in private: commands, messages to check, free text."""
    message = update.effective_message
    if message is None:  # the handler's filter lets only messages through
        return
    visitor = visitor_of(update)
    forwarded = message.forward_origin is not None  # goes to the scam-message checker
    given = Text(visitor, message.text or "", forwarded=forwarded)
    if not (await handle(update, context, given, chat_id=message.chat_id)).fresh:
        return
    admins = context.services.settings.admin_ids
    if visitor.id in admins and visitor.id not in context.bot_data.admin_menus:
        bot, bot_data = context.bot, context.bot_data
        turn_of(update, context).after_commit(lambda: publish_admin_menu(bot, bot_data, visitor.id))


async def on_press(update: Update, context: FinlitContext) -> None:
    """A button press: always answered, stale or forged ones included."""
    query = update.callback_query
    if query is None:
        return
    turn = turn_of(update, context)
    message = query.message
    if message is None or message.chat.type != Chat.PRIVATE:
        if await in_group(update, context) is not False:
            turn.answer(query)
        return
    services = context.services
    tutor, delivery = services.tutor, services.delivery
    chat_id = message.chat.id

    async def render(reply: Reply) -> Outgoing:
        """The press's own matters: an edit that would change nothing, a reply that waits."""
        notice = reply.notice
        if reply.edit and reply.screens and not delivery.has_pending(chat_id):
            if isinstance(message, Message) and shows(message, reply.screens[0]):
                # The screen is already there (the language already chosen, a double press):
                # an edit would change nothing; say so on the button instead.
                METRICS.inc("finlit_edits_unchanged_total")
                language = await tutor.language_of(
                    query.from_user.id, query.from_user.language_code
                )
                notice = notice or tutor.unchanged_toast(language)
                reply = dataclasses.replace(reply, screens=reply.screens[1:], edit=False)
        elif notice is None and delivery.expected_wait(chat_id) > LAG_TOAST_SECONDS:
            # The reply will wait its turn (a lecture hall): the tap registered, say so now.
            METRICS.inc("finlit_press_toasts_total")
            language = await tutor.language_of(query.from_user.id, query.from_user.language_code)
            notice = tutor.received_toast(language)
        return Outgoing(tuple(payloads(reply, edit_message_id=message.message_id)), notice)

    handled = await handle(
        update, context, Press(visitor_of(update), query.data), chat_id=chat_id, render=render
    )
    if handled.fresh:
        # The answer is stored by now; the press is answered right after the commit.
        turn.answer(query, handled.notice)


def shows(message: Message, screen: Screen) -> bool:
    """Whether ``message`` already shows ``screen`` (text and buttons), as Telegram compares
    an edit: the visible text, trimmed, and the buttons."""
    if (message.text or "") != visible_text(screen.text).strip():
        return False
    markup = message.reply_markup
    shown = [
        [(button.text, button.callback_data, button.url) for button in row]
        for row in (markup.inline_keyboard if markup is not None else ())
    ]
    wanted = [
        [(b.label, b.data if b.url is None else None, b.url) for b in row]
        for row in screen.keyboard
    ]
    return shown == wanted


async def on_chatter(update: Update, context: FinlitContext) -> None:
    """Stickers, photos, voice: point to the menu. A forwarded photo's caption is checked; a
    forwarded one without words asks for them."""
    chat = update.effective_chat
    if chat is None:  # the handler's filter lets only private chats through
        return
    message = update.effective_message
    visitor = visitor_of(update)
    forwarded = message is not None and message.forward_origin is not None
    given: Input = Chatter(visitor, forwarded=forwarded)
    if forwarded and message is not None and message.caption:
        given = Text(visitor, message.caption, forwarded=True)
    await handle(update, context, given, chat_id=chat.id)


async def in_group(update: Update, context: FinlitContext) -> bool | None:
    """Groups: the bot answers only commands addressed to it, presses on its old messages and
    being added, and then with at most one "I teach in private chat" note per group per hour.
    Ordinary chatter and everything else get nothing. (The one rule for groups lives here.)
    False when the update had been handled before."""
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return None
    message = update.message
    if message is not None and not addressed_to_me(message, context.bot.username):
        return None
    services = context.services
    user = update.effective_user
    username = context.bot.username
    link = f"https://t.me/{username}?start=group" if username else None

    async def pointer() -> Reply | None:
        if not await services.store.state.claim_group_note(chat_id=chat.id, every=GROUP_NOTE_EVERY):
            return None
        return services.tutor.group_pointer(user.language_code if user else None, link)

    return (await handle(update, context, Effect(pointer), chat_id=chat.id)).fresh


def addressed_to_me(message: Message, username: str | None) -> bool:
    """A command for this bot: ``/cmd`` or ``/cmd@this_bot`` (not ``/cmd@another_bot``)."""
    text = message.text or ""
    if not text.startswith("/"):
        return False
    command = text.split(maxsplit=1)[0]
    _, _, target = command.partition("@")
    return not target or (username is not None and target.lower() == username.lower())


async def on_membership(update: Update, context: FinlitContext) -> None:
    """The bot's membership changed: a resident blocked or unblocked it, or a group added it."""
    change = update.my_chat_member
    if change is None:  # ChatMemberHandler passes only membership changes
        return
    joined = change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
    )
    if change.chat.type == Chat.PRIVATE:
        store = context.services.store

        async def blocked() -> None:
            # Kept in step with Telegram, so nothing is attempted while the bot is blocked.
            await store.residents.set_blocked(resident_id=change.chat.id, blocked=not joined)

        await handle(update, context, Effect(blocked), chat_id=change.chat.id)
        return
    was_out = change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    if joined and was_out:
        await in_group(update, context)


async def on_error(update: object, context: FinlitContext) -> None:
    """Log the failure without message text or names; the resident gets an apology."""
    if update is None and isinstance(context.error, TelegramError):
        # Fetching updates failed (a timeout, a 502 page): python-telegram-bot retries; one
        # line is enough, without the traceback or the answer's body.
        log.warning("getting updates failed (%s); retrying", describe(context.error))
        return
    update_id = update.update_id if isinstance(update, Update) else None
    METRICS.inc("finlit_handler_errors_total")
    log.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )
    turn = context.turn
    if not isinstance(update, Update) or context.bot_data.services is None or turn is None:
        return  # not inside an update's handling: nothing to roll back or apologise for
    chat, user = update.effective_chat, update.effective_user
    if update.callback_query is not None and not turn.answers:
        turn.answer(update.callback_query)
    if chat is None or user is None or chat.type != Chat.PRIVATE:
        return
    # The unit of work was rolled back (it re-raised); processing sends only an apology.
    turn.failed = (chat.id, user.id, user.language_code)


def register(application: FinlitApplication) -> None:
    """Wire the handlers. Order matters: the first matching handler in group 0 wins."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handlers(
        [
            # Groups first, so nothing below ever answers there beyond the pointer.
            MessageHandler(groups, in_group),
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
        await publish_admin_menu(application.bot, application.bot_data, admin_id)


async def publish_admin_menu(bot: Bot, bot_data: BotData, admin_id: int) -> bool:
    """Show an administrator their commands, in their chat only; False if Telegram cannot yet.

    Telegram knows an administrator's chat only once they have written to the bot, so a new
    administrator's menu is set at their first message (see ``on_text``).
    """
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
            await bot.set_my_commands(commands, scope=scope, language_code=language)
    except TelegramError as exc:
        log.info("an administrator's command menu is not set yet: %s", type(exc).__name__)
        return False
    bot_data.admin_menus.add(admin_id)
    return True
