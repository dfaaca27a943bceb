"""Handling an update exactly once: inbox, one transaction, then delivery.

python-telegram-bot acknowledges updates before handlers run and keeps its queue in memory. Here
every update is first in the durable inbox (written before Telegram is told it arrived); handling
it, the replies it queues and marking it done commit in one transaction; the replies are sent
after the commit. A redelivered update is recognised by its id and has no second effect, and one
resident's updates never run at the same time, so a double press cannot race.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, ExtBot

from bot.telegram.context import BotData, FinlitContext
from bot.telegram.metrics import METRICS
from bot.telegram.show import CURRENT, Pending, deliver, deliver_all, show

log = logging.getLogger(__name__)
# A salt for this process's log pseudonyms unless PSEUDONYM_KEY gives a stable one.
_SALT = os.urandom(16)


def pseudonym(resident_id: int | None, key: bytes | None = None) -> str:
    """How a resident appears in logs: a short keyed hash, never the Telegram id."""
    if resident_id is None:
        return "-"
    return hmac.new(key or _SALT, str(resident_id).encode(), hashlib.sha256).hexdigest()[:10]


def resident_key(update: Update) -> int | None:
    """Whose update this is, for ordering: the user, else the chat."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class _HandlerFailed(Exception):
    """Raised inside a unit of work to roll back a failed handler's effects."""


class KeyedLocks:
    """One lock per resident, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: collections.Counter[int] = collections.Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: int | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]


class InboxBot(ExtBot[None]):
    """A bot whose getUpdates writes what it fetched to the inbox before returning it.

    The Updater confirms updates with the *next* getUpdates call, so writing here means an
    update is durable before Telegram forgets it; already handled ones are filtered out.
    """

    __slots__ = ("inbox",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attach(None)

    def attach(self, store: Any) -> None:
        """Use ``store`` as the inbox (python-telegram-bot freezes bots; this is its escape)."""
        with self._unfrozen():
            self.inbox = store

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if self.inbox is None or not updates:
            return updates
        fresh = await self.inbox.inbox_accept([update.to_dict() for update in updates])
        fresh_ids = {payload["update_id"] for payload in fresh}
        return tuple(update for update in updates if update.update_id in fresh_ids)


_Base = Application[ExtBot[None], FinlitContext, dict[Any, Any], dict[Any, Any], BotData, Any]


class DurableApplication(_Base):
    """An Application whose updates go through the inbox, a transaction and the outbox."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ordering = KeyedLocks()

    async def process_update(self, update: object) -> None:
        services = self.bot_data.services
        if not isinstance(update, Update) or services is None:
            await super().process_update(update)
            return
        started = time.perf_counter()
        key = resident_key(update)
        async with self.ordering.hold(key):
            await self._handle_once(update, services.store)
        elapsed = time.perf_counter() - started
        METRICS.observe_latency(elapsed)
        if log.isEnabledFor(logging.DEBUG):
            settings = services.settings
            secret = (
                settings.pseudonym_key.get_secret_value().encode()
                if settings.pseudonym_key
                else None
            )
            log.debug(
                "update %s from resident %s handled in %.0f ms",
                update.update_id,
                pseudonym(key, secret),
                elapsed * 1000,
            )

    async def _handle_once(self, update: Update, store: Any) -> None:
        pending = Pending(store=store)
        token = CURRENT.set(pending)
        try:
            async with store.unit_of_work():
                # Marked done first: it commits with the effects below or not at all, and a
                # redelivered update finds the mark and has no second effect.
                if not await store.inbox_finish(update_id=update.update_id):
                    log.info("update %s was handled before; ignored", update.update_id)
                    return
                await super().process_update(update)
                if pending.failed is not None:
                    # A handler failed (python-telegram-bot caught it and called the error
                    # handler): raising here rolls back whatever it had half done.
                    raise _HandlerFailed
        except _HandlerFailed:
            pass
        finally:
            CURRENT.reset(token)
        if pending.failed is not None:
            await self._apologise(update, store, pending)
            return
        METRICS.inc("finlit_updates_handled_total")
        await deliver(self.bot, store, pending)

    async def _apologise(self, update: Update, store: Any, failed: Pending) -> None:
        """The handler failed: keep the update handled, send only the apology."""
        pending = Pending(store=store, answers=failed.answers)
        token = CURRENT.set(pending)
        try:
            async with store.unit_of_work():
                await store.inbox_finish(update_id=update.update_id)
                if failed.failed is not None and self.bot_data.services is not None:
                    chat_id, user_id, hint = failed.failed
                    tutor = self.bot_data.services.tutor
                    # Read after the rollback: in the language the resident really has.
                    language = await tutor.language_of(user_id, hint)
                    await show(self.bot, chat_id, tutor.apology(language))
        finally:
            CURRENT.reset(token)
        await deliver(self.bot, store, pending)

    async def replay_unfinished(self, store: Any) -> int:
        """On start: finish what a crash interrupted, oldest first, then send what is queued."""
        payloads: Sequence[dict[str, Any]] = await store.inbox_pending()
        for payload in payloads:
            update = Update.de_json(payload, self.bot)
            await self.process_update(update)
        await deliver_all(self.bot, store)
        return len(payloads)
