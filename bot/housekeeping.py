"""Retention: what finlit forgets on a schedule, so no table grows forever.

Every hour (and once at start) the running bot deletes, in small batches so no transaction holds
the database for long: handled update ids older than Telegram's redelivery window, residents who
never accepted the privacy notice (after ``UNCONSENTED_RETENTION_DAYS``), broadcast deliveries,
finished broadcasts and audit lines past their retention, and replicas' idle chat claims
(``deploy/README.md`` lists them all).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable

from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

# Telegram redelivers for at most a day: handled update ids are remembered a little longer.
INBOX_MEMORY = dt.timedelta(days=3)
# A loan calculator left half-way keeps the numbers typed into it this long (issue 16).
LOAN_SESSION_MEMORY = dt.timedelta(days=1)
# "Check a message" pressed but no message sent: the row goes a day later (it lapses after
# bot.core.fraud.routing.CHECK_WAIT anyway).
CHECK_WAIT_MEMORY = dt.timedelta(days=1)
# A chat let go by a replica keeps its pacing (a 429's pause included) this long.
CLAIM_MEMORY_SECONDS = 3600.0
EVERY_SECONDS = 3600.0
# Batches per purge in one pass; the rest waits for the next hour.
MAX_BATCHES = 200


class Housekeeping:
    """Runs the purges once an hour while the bot runs."""

    def __init__(self, store: Store, settings: Settings, *, every: float = EVERY_SECONDS) -> None:
        self.store = store
        self.settings = settings
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def purges(self) -> list[tuple[str, int, Callable[[], Awaitable[int]]]]:
        """(name, batch size, one batch) for each table with a retention period."""
        s, store = self.settings, self.store

        def days(n: int) -> dt.timedelta:
            return dt.timedelta(days=n)

        return [
            ("inbox", 0, lambda: store.inbox.purge(older_than=INBOX_MEMORY)),
            (
                "unconsented residents",
                500,
                lambda: store.privacy.purge_unconsented(
                    older_than=days(s.unconsented_retention_days), limit=500
                ),
            ),
            (
                "broadcast deliveries",
                5000,
                lambda: store.broadcasts.purge_deliveries(
                    older_than=days(s.delivery_retention_days), limit=5000
                ),
            ),
            (
                "broadcasts",
                500,
                lambda: store.broadcasts.purge(
                    older_than=days(s.broadcast_retention_days), limit=500
                ),
            ),
            (
                "audit log",
                5000,
                lambda: store.audit.purge(older_than=days(s.audit_retention_days), limit=5000),
            ),
            (
                "loan calculator sessions",
                500,
                lambda: store.loans.purge(older_than=LOAN_SESSION_MEMORY, limit=500),
            ),
            # A day after delivery (two if never delivered): see bot/store/exports.py.
            ("exports", 20, lambda: store.exports.purge(limit=20)),
            # Replicas (bot/store/replicas.py): chats let go an hour ago (their pacing is long
            # refilled) and replicas silent for a day.
            (
                "replicas' chat claims",
                0,
                lambda: store.replicas.purge(before=time.time() - CLAIM_MEMORY_SECONDS),
            ),
            # "Check a message" pressed and nothing sent (issue 16): the wait lapsed long ago.
            (
                "scam-check waits",
                5000,
                lambda: store.checks.purge_waits(older_than=CHECK_WAIT_MEMORY, limit=5000),
            ),
        ]

    async def run_once(self) -> dict[str, int]:
        """One pass over every purge; how many rows (or residents) each removed."""
        removed: dict[str, int] = {}
        for name, batch, purge in self.purges():
            total = 0
            for _ in range(MAX_BATCHES):
                count = await purge()
                total += count
                if batch == 0 or count < batch:
                    break
                await asyncio.sleep(0)  # let residents' updates in between batches
            removed[name] = total
        if any(removed.values()):
            log.info(
                "retention: removed %s",
                ", ".join(f"{n} {name}" for name, n in removed.items() if n),
            )
        return removed

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="finlit-housekeeping")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # the database may be briefly busy: next hour
                log.warning("retention pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)
