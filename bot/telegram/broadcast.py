"""Sending administrators' broadcasts: a durable job, each resident served at most once.

Confirming a broadcast (``AdminDesk.broadcast_press``) writes one ``pending`` delivery row per
recipient in the same transaction as the status ``sending``. This worker, an asyncio task of the
running bot, takes those rows in batches and for each one:

1. **claims** it: ``pending`` -> ``sending``, committed *before* anything is sent;
2. sends it through the delivery engine at bulk priority (``delivery.DeliveryEngine.send``):
   within Telegram's limits, and only with the capacity residents' own replies leave;
3. records the outcome: ``sent``; ``blocked`` (Telegram's 403: the resident is also marked
   blocked, so nothing else is attempted); ``failed``; or back to ``pending`` on a 429 or when
   the engine stopped before its turn (a certain refusal: sending again later is safe).

**At most once.** A claimed delivery is never sent again. A crash (power cut, kill -9) between
the claim and the outcome leaves it ``sending``; the next start turns such rows into ``unknown``
(counted as failed in the administrator's report) instead of sending them again: for older
residents a duplicated official-looking announcement is confusing and looks like fraud, while one
missing message in a rare crash is visible in the report. For the same reason a broadcast send is
not retried after a network error or timeout (``retry.Failure.certainly_unsent``): the request
may have reached Telegram. A normal stop (SIGTERM, Ctrl-C) never leaves ``sending`` rows: the
worker stops claiming and finishes the deliveries in flight before the bot is shut down
(``post_stop``).

Progress goes to the administrator who wrote the broadcast every
``AdminDesk.broadcast_report_every`` deliveries and at the end, through the outbox: the final
report is queued in the same transaction that marks the broadcast done, so it is sent exactly
when the job is finished, and a crash before Telegram took it re-sends it on the next start.

Tests call ``drain()``, which does the same work as the background loop, deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Literal

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.core.admin import AdminDesk
from bot.core.conversation.tutor import Tutor
from bot.core.handling import payloads
from bot.core.models import Broadcast, Recipient
from bot.core.pseudonyms import LOG, pseudonym
from bot.store import Store
from bot.telegram.delivery import DeliveryEngine
from bot.telegram.lanes import ADMIN, BULK
from bot.telegram.metrics import METRICS
from bot.telegram.retry import Kind, classify
from bot.telegram.services import Services

log = logging.getLogger(__name__)

BATCH_SIZE = 50
# Sends in flight at once. The limiter paces them to 30 a second; a few in flight hide the
# round trip, and residents' own replies wait behind at most this many in the limiter's queue.
CONCURRENCY = 8
POLL_SECONDS = 2.0
# How long a stop waits for the deliveries in flight (they wait for their turn in delivery, at
# most a few tenths of a second unless a flood-control pause holds them). With the stop's other
# steps (bot/app.py) a stop takes at most about 23 s, inside systemd's TimeoutStopSec=30.
STOP_SECONDS = 5.0

Outcome = Literal["sent", "failed", "blocked", "skipped", "released", "not_claimed", "error"]


class BroadcastWorker:
    """Delivers every broadcast in status ``sending``; one per running application."""

    def __init__(
        self,
        services: Services,
        bot: Bot,
        *,
        batch_size: int = BATCH_SIZE,
        concurrency: int = CONCURRENCY,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        if services.tutor.admin is None:
            raise RuntimeError("the broadcast worker needs the administrators' desk")
        self.bot = bot
        self.store: Store = services.store
        self.tutor: Tutor = services.tutor
        self.desk: AdminDesk = services.tutor.admin
        self.delivery: DeliveryEngine = services.delivery
        key = services.settings.pseudonym_key
        self.log_key = key.get_secret_value().encode() if key else None
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self._stopping = False
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Settle what a crash left in flight, then deliver in the background."""
        abandoned = await self.store.broadcasts.abandon_claimed(lease=self._lease())
        if abandoned:
            log.warning(
                "%d broadcast deliveries were interrupted by a crash; counted as failed, "
                "not sent again",
                abandoned,
            )
        self._task = asyncio.create_task(self._loop(), name="finlit-broadcasts")

    def _lease(self) -> dt.timedelta | None:
        """Several replicas: spare the claims of live ones (they are sending them now)."""
        return self.store.replicas.lease if self.store.shared else None

    async def settle_abandoned(self) -> int:
        """Claims of replicas that died meanwhile: counted as failed (never sent again), so
        their broadcasts can finish. Called periodically by the replica's duties."""
        return await self.store.broadcasts.abandon_claimed(lease=self._lease())

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop claiming; let the deliveries in flight finish (and be recorded), then return."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            async with self._draining:  # a drain() called directly finishes its sends
                return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            log.warning("broadcast worker did not stop within %.0f s; cancelled", timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self.drain()
            except Exception as exc:  # the worker outlives any one failure; retried next poll
                # The error's description (the store hides statement parameters, so it names
                # no resident), not just its type, and a count for /metrics.
                METRICS.inc("finlit_broadcast_errors_total")
                log.error("broadcast worker: %s: %s; will try again", type(exc).__name__, exc)

    # -- the work -------------------------------------------------------------------------------

    async def drain(self, *, limit: int | None = None) -> int:
        """Deliver what is pending (at most ``limit`` deliveries); returns how many were handled.

        The background loop calls this; tests call it directly to run the job deterministically.
        """
        async with self._draining:
            handled = 0
            for broadcast in await self.store.broadcasts.sending():
                if self._stopping or (limit is not None and handled >= limit):
                    break
                left = None if limit is None else limit - handled
                handled += await self._run(broadcast, left)
            return handled

    async def _run(self, broadcast: Broadcast, limit: int | None) -> int:
        handled = 0
        every = max(self.desk.broadcast_report_every, 1)
        current = broadcast
        while not self._stopping and (limit is None or handled < limit):
            size = self.batch_size if limit is None else min(self.batch_size, limit - handled)
            batch = await self.store.broadcasts.pending_deliveries(
                broadcast_id=broadcast.id, limit=size
            )
            if not batch:
                break
            outcomes = await self._deliver_batch(current, batch)
            handled += sum(o not in ("not_claimed", "released", "error") for o in outcomes)
            latest = await self.store.broadcasts.get(broadcast_id=broadcast.id)
            if latest is None:
                return handled
            if latest.remaining and latest.settled // every > current.settled // every:
                await self._report(latest)
            current = latest
            if "released" in outcomes or "error" in outcomes:
                break  # flood control or a failing database: try again at the next poll
        if not self._stopping:
            await self._finish(broadcast.id)
        return handled

    async def _deliver_batch(self, broadcast: Broadcast, batch: list[Recipient]) -> list[Outcome]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(recipient: Recipient) -> Outcome:
            async with gate:
                return await self._deliver(broadcast, recipient)

        return list(await asyncio.gather(*(one(r) for r in batch)))

    async def _deliver(self, broadcast: Broadcast, recipient: Recipient) -> Outcome:
        """One recipient: claim, send, record. Never raises."""
        store, b, r = self.store, broadcast.id, recipient.resident_id
        try:
            # The resident's row as it is now: blocked or opted out since the confirmation.
            if recipient.blocked:
                await store.broadcasts.settle(
                    broadcast_id=b, resident_id=r, status="blocked", claimed=False
                )
                return "blocked"
            if not recipient.announcements:
                await store.broadcasts.settle(
                    broadcast_id=b, resident_id=r, status="skipped", claimed=False
                )
                return "skipped"
            me = store.replicas.me if store.shared else None
            if self._stopping or not await store.broadcasts.claim(
                broadcast_id=b, resident_id=r, by=me
            ):
                return "not_claimed"
        except Exception as exc:
            self._log_failure("could not claim a delivery", recipient, exc)
            return "error"
        outcome = await self._send(broadcast, recipient)
        try:
            if outcome == "released":
                await store.broadcasts.release(broadcast_id=b, resident_id=r)
                return outcome
            await store.broadcasts.settle(broadcast_id=b, resident_id=r, status=outcome)
            if outcome == "blocked":
                await store.residents.set_blocked(resident_id=r, blocked=True)
        except Exception as exc:
            # Left "sending": the next start counts it as unknown; it is never sent twice.
            self._log_failure("could not record a delivery", recipient, exc)
            return "error"
        return outcome

    async def _send(self, broadcast: Broadcast, recipient: Recipient) -> Outcome:
        screen = self.desk.broadcast_message(recipient.language, broadcast.text)
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in screen.keyboard
            ]
        )
        bot = self.bot

        async def send() -> object:
            return await bot.send_message(
                recipient.resident_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )

        try:
            await self.delivery.send(recipient.resident_id, send, priority=BULK)
        except Exception as exc:
            # At most once (retry.py): only what certainly did not arrive (a 429, or the engine
            # stopped before its turn) is released to be sent again; a network error or a
            # timeout is not retried, since the message may have arrived.
            failure = classify(exc)
            if failure.kind is Kind.BLOCKED:
                return "blocked"
            if failure.certainly_unsent:
                return "released"
            if failure.kind in (Kind.REFUSED, Kind.GONE, Kind.TRANSIENT):
                self._log_failure(
                    "broadcast message not delivered", recipient, exc, level=logging.INFO
                )
            else:
                self._log_failure("broadcast message failed unexpectedly", recipient, exc)
            return "failed"
        return "sent"

    def _log_failure(
        self, what: str, recipient: Recipient, exc: BaseException, *, level: int = logging.ERROR
    ) -> None:
        # The error type only (messages may quote the text) and a pseudonym, never the id.
        log.log(
            level,
            "%s (resident %s): %s",
            what,
            pseudonym(resident_id=recipient.resident_id, key=self.log_key, family=LOG),
            type(exc).__name__,
        )

    # -- reports to the administrator -----------------------------------------------------------

    async def _finish(self, broadcast_id: int) -> None:
        """Mark the broadcast done and queue the final report, together; then send it."""
        try:
            async with self.store.unit_of_work():
                if not await self.store.broadcasts.finish(broadcast_id=broadcast_id):
                    return
                final = await self.store.broadcasts.get(broadcast_id=broadcast_id)
                if final is None:
                    return
                await self._queue_report(final, final=True)
            await self._send_reports(final.admin_id)
        except Exception as exc:
            log.error("could not finish broadcast %d: %s", broadcast_id, type(exc).__name__)

    async def _report(self, broadcast: Broadcast) -> None:
        try:
            async with self.store.unit_of_work():
                await self._queue_report(broadcast, final=False)
            await self._send_reports(broadcast.admin_id)
        except Exception as exc:  # progress is a courtesy: the job goes on without it
            log.error("could not report broadcast progress: %s", type(exc).__name__)

    async def _queue_report(self, broadcast: Broadcast, *, final: bool) -> None:
        language = await self.tutor.language_of(broadcast.admin_id, None)
        reply = self.desk.broadcast_report(language, broadcast, final=final)
        for item in payloads(reply, edit_message_id=None):
            await self.store.outbox.add(chat_id=broadcast.admin_id, payload=item, priority=ADMIN)

    async def _send_reports(self, admin_id: int) -> None:
        self.delivery.notify(admin_id, ADMIN)
