"""Handling an update exactly once: inbox, a fair handling slot, one transaction, then the outbox.

python-telegram-bot acknowledges updates before handlers run and keeps its queue in memory. Here
every update is first in the durable inbox (written before Telegram is told it arrived). It then
joins its resident's queue (``dispatch.ResidentQueues``); a handling slot takes it in turn and
runs its handler, which calls the core's one unit of work (``bot.core.handling``): the update's
effects, its replies (outbox rows) and the inbox's done-mark commit together. After the commit
the button press is answered at once and the delivery engine (``delivery``) is told which chats
have new messages: handling never waits for Telegram's pacing. A redelivered update is
recognised by its id and has no second effect, and one resident's updates never run at the same
time, so a double press cannot race.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import Application, ExtBot

from bot.core import callbacks
from bot.core.admin import READ_ONLY_COMMANDS
from bot.core.conversation.tutor import Visitor
from bot.core.handling import Apology
from bot.core.pseudonyms import LOG, pseudonym
from bot.store import Store
from bot.telegram.context import BotData, FinlitContext, Services
from bot.telegram.dispatch import ResidentQueues
from bot.telegram.guards import private_chat_matches_sender, resident_key
from bot.telegram.lanes import ADMIN, INTERACTIVE
from bot.telegram.metrics import METRICS
from bot.telegram.retry import classify
from bot.telegram.turn import Turn, answer_now

log = logging.getLogger(__name__)


def _log_key(services: Services) -> bytes | None:
    key = services.settings.pseudonym_key
    return key.get_secret_value().encode() if key else None


def reads_only(update: Update, admin_ids: frozenset[int]) -> bool:
    """An administrator's report command (/stats, /items, /export, /cohorts): run outside any
    write transaction (see ``DurableApplication._handle_read``)."""
    message = update.message
    user = update.effective_user
    if message is None or user is None or user.id not in admin_ids or not message.text:
        return False
    if message.chat.type != Chat.PRIVATE:
        return False
    word = message.text.split(maxsplit=1)[0]
    return word.startswith("/") and word[1:].split("@", 1)[0].lower() in READ_ONLY_COMMANDS


def collapsible(update: Update) -> bool:
    """Whether a newer update of the same resident may replace this one while it waits:
    navigation presses only (see ``dispatch``). Typed texts are never collapsed: a text may be
    the message to check after /check, or a number the loan calculator asked for, and which
    one it is shows only when the updates before it have been handled."""
    query = update.callback_query
    if query is not None:
        return callbacks.is_navigation(callbacks.decode(query.data))
    return False


class InboxBot(ExtBot[None]):
    """A bot whose getUpdates writes what it fetched to the inbox before returning it.

    The Updater confirms updates with the *next* getUpdates call, so writing here means an
    update is durable before Telegram forgets it. Updates handled before (a redelivery) are
    returned all the same: the Updater confirms up to the last one it is given, so leaving one
    out would have Telegram send it again and again; handling recognises it and does nothing.
    """

    __slots__ = ("inbox",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attach(None)

    def attach(self, store: Store | None) -> None:
        """Use ``store``'s inbox (python-telegram-bot freezes bots; this is its escape)."""
        with self._unfrozen():
            self.inbox = None if store is None else store.inbox

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if self.inbox is None or not updates:
            return updates
        await self.inbox.accept(
            [update.to_dict() for update in updates],
            residents=[resident_key(update) for update in updates],
        )
        return updates


_Base = Application[ExtBot[None], FinlitContext, dict[Any, Any], dict[Any, Any], BotData, Any]


class DurableApplication(_Base):
    """An Application whose updates go through the inbox, fair queues, a transaction and the
    outbox."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queues: ResidentQueues[Update] | None = None

    # -- arrivals -------------------------------------------------------------------------------

    async def process_update(self, update: object) -> None:
        services = self.bot_data.services
        if not isinstance(update, Update) or services is None or self.queues is None:
            await super().process_update(update)
            return
        # Returns at once: the update waits in its resident's queue for a handling slot.
        self.queues.submit(resident_key(update), update)

    def open_queues(self) -> ResidentQueues[Update]:
        """Start the handling slots (from post_init, once the services are open)."""
        if self.queues is None:
            self.queues = ResidentQueues(
                handle=self.handle,
                settle_collapsed=self.settle_collapsed,
                reload=self.reload,
                identify=resident_key,
                collapsible=collapsible,
            )
        self.queues.start()
        return self.queues

    async def settled(self) -> None:
        """Return once every update submitted so far is handled and its replies are sent (or
        given up): for tests, which then look at what the resident saw."""
        services = self.bot_data.services
        queues = self.queues
        if services is None or queues is None:
            return
        while not (queues.is_idle() and services.delivery.is_idle()):
            await queues.idle()
            await services.delivery.idle()

    # -- one update -----------------------------------------------------------------------------

    async def handle(self, update: Update) -> None:
        """Handle one update, after its resident's earlier ones that another replica accepted
        and has not handled yet (several processes on one database)."""
        services = self._services()
        if services.store.shared:
            # Each is handled in the resident's turn and skipped if done meanwhile (whoever
            # handles it first), so the resident's updates take effect in order.
            for payload in await services.store.inbox.earlier(
                resident_id=resident_key(update), update_id=update.update_id
            ):
                await self._handle(Update.de_json(payload, self.bot), services)
        await self._handle(update, services)

    async def _handle(self, update: Update, services: Services) -> None:
        """Handle one update (its handler calls the core's unit of work, which commits), then
        answer its press and wake delivery."""
        started = time.perf_counter()
        key = resident_key(update)
        if not private_chat_matches_sender(update.to_dict()):
            await self._refuse_forged(update, services)
            return
        admins = services.settings.admin_ids
        turn = Turn(
            update_id=update.update_id,
            resident=key,
            priority=ADMIN if key in admins else INTERACTIVE,
            reads_only=reads_only(update, admins),
        )
        if turn.reads_only and await services.store.inbox.done(update_id=update.update_id):
            # Checked before the report is computed: a redelivery costs no heavy read.
            log.info("update %s was handled before; ignored", update.update_id)
            return
        turns = self.bot_data.turns
        turns[update.update_id] = turn
        try:
            # The handlers (their unit of work rolls back and re-raises if they fail; the error
            # handler then sets ``turn.failed``).
            await super().process_update(update)
        finally:
            turns.pop(update.update_id, None)
        if turn.retry is not None:
            raise turn.retry  # nothing committed: the handling slot tries again after a pause
        if turn.failed is not None:
            await self._apologise(update, services, turn)
            return
        if not turn.settled:
            # No handler took it (an edited message, a group's chatter), or a group's handler
            # failed: marked handled all the same, so it is not handled again at the next start.
            turn.ignored = not await self._mark_done(update, services)
        if turn.ignored:
            return
        METRICS.inc("finlit_updates_handled_total")
        await self._after_commit(turn, services)
        elapsed = time.perf_counter() - started
        METRICS.observe_latency(elapsed)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "update %s from resident %s handled in %.0f ms",
                update.update_id,
                pseudonym(resident_id=key, key=_log_key(services), family=LOG),
                elapsed * 1000,
            )

    async def _mark_done(self, update: Update, services: Services) -> bool:
        """Mark an update handled, with nothing else to do; False if it already was."""
        async with services.store.unit_of_work():
            return await services.store.inbox.finish(update_id=update.update_id)

    async def _refuse_forged(self, update: Update, services: Services) -> None:
        """A private chat that is not its sender's: Telegram never sends one, so it is forged
        (someone who learnt the webhook secret): marked handled, nothing done, nothing sent."""
        METRICS.inc("finlit_updates_forged_total")
        log.warning("update %s refused: its private chat is not its sender's", update.update_id)
        await self._mark_done(update, services)

    async def _after_commit(self, turn: Turn, services: Services) -> None:
        """Answer the presses (never paced, never queued behind messages), hand the new messages
        to delivery, then make the other calls the handling asked for."""
        for query, text in turn.answers:
            try:
                await answer_now(query, text)
            except TelegramError as exc:
                # An answer only stops the press's spinner, and only now: whatever Telegram
                # said (a flood, a block, a refusal, the network), it is not repeated, and the
                # messages below must still go out. The spinner stops by itself eventually.
                log.warning("could not answer a button press: %s", classify(exc).kind.value)
        for chat_id in turn.chats:
            services.delivery.notify(chat_id, turn.priority)
        for call in turn.later:
            await call()

    async def _apologise(self, update: Update, services: Services, failed: Turn) -> None:
        """The handler failed and its unit of work was rolled back: keep the update handled,
        send only the apology (and answer the press)."""
        if failed.failed is None:
            return
        chat_id, user_id, hint = failed.failed
        store = services.store

        async def receipt() -> bool:
            await store.inbox.take_turn(resident_id=user_id)
            await store.inbox.finish(update_id=update.update_id)
            return True  # apologise even if another process marked it meanwhile

        handled = await services.handling.handle(
            Apology(Visitor(id=user_id, language_hint=hint)),
            chat_id=chat_id,
            receipt=receipt,
            priority=failed.priority,
        )
        turn = Turn(update_id=update.update_id, priority=failed.priority, answers=failed.answers)
        turn.took(handled)
        await self._after_commit(turn, services)

    async def settle_collapsed(self, key: int, updates: Sequence[Update]) -> None:
        """Updates a newer one replaced (navigation presses): marked handled, and their presses
        answered "one moment"."""
        services = self._services()
        async with services.store.unit_of_work():
            for update in updates:
                await services.store.inbox.finish(update_id=update.update_id)
            hint = updates[-1].effective_user.language_code if updates[-1].effective_user else None
            language = await services.tutor.language_of(key, hint)
        METRICS.inc("finlit_updates_collapsed_total", len(updates))
        toast = services.tutor.one_moment_toast(language)
        turn = Turn(update_id=updates[-1].update_id)
        for update in updates:
            if update.callback_query is not None:
                turn.answer(update.callback_query, toast)
        await self._after_commit(turn, services)

    async def reload(self, key: int, limit: int, exclude: set[int]) -> list[Update]:
        """A resident's updates that waited in the inbox (beyond their queue), oldest first."""
        services = self._services()
        payloads: Sequence[dict[str, Any]] = await services.store.inbox.pending()
        found: list[Update] = []
        for payload in payloads:
            if payload["update_id"] in exclude:
                continue
            update = Update.de_json(payload, self.bot)
            if resident_key(update) == key:
                found.append(update)
                if len(found) >= limit:
                    break
        return found

    async def adopt(self, payloads: Sequence[dict[str, Any]]) -> None:
        """Queue updates another replica accepted and did not handle (it stopped or died)."""
        if self.queues is None:
            return  # not handling yet: the next pass takes them
        for payload in payloads:
            await self.process_update(Update.de_json(payload, self.bot))

    async def replay_unfinished(self, store: Store) -> int:
        """On start: queue what a crash interrupted, oldest first (handled before anything new
        of the same resident, since it is queued first)."""
        payloads: Sequence[dict[str, Any]] = await store.inbox.pending()
        for payload in payloads:
            await self.process_update(Update.de_json(payload, self.bot))
        return len(payloads)

    def _services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are opened in post_init; the application is not running")
        return services
