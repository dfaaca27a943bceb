"""The store: a small async repository over SQLAlchemy Core, one feature repository per table
family (``store.residents``, ``store.quizzes``, ``store.outbox``...), keyword-only methods.

Each call is one transaction, committed before it returns, so whatever a channel replies
afterwards describes data that is already safe on disk; inside ``unit_of_work`` every call of
every feature joins that one transaction instead.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.app_state import AppState
from bot.store.asked import AskRecords
from bot.store.audit import AuditLog
from bot.store.broadcasts import Broadcasts
from bot.store.checker import CheckRecords
from bot.store.checkups import Checkups
from bot.store.cohorts import Cohorts
from bot.store.db import Conn, Database, coordination_engine, create_engine, migrate
from bot.store.exports import Exports
from bot.store.fraud_tools import DrillAnswers, LoanSessions
from bot.store.inbox import Inbox
from bot.store.lessons import Lessons
from bot.store.outbox import Outbox
from bot.store.privacy import Privacy
from bot.store.quizzes import Quizzes
from bot.store.replicas import Replicas
from bot.store.residents import Residents
from bot.store.values import Clock, utc_now


class Store:
    """Everything finlit remembers about residents, by feature."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now, inline: bool = True) -> None:
        """``inline``: run SQLite statements on the loop's thread (see ``db.inline_twin``)."""
        self.engine = engine  # for long reads (administrators' figures), off the loop's thread
        self._db = Database(engine, inline=inline)
        # The transaction of the unit of work in progress in this task, if any.
        self._ambient: contextvars.ContextVar[Conn | None] = contextvars.ContextVar(
            f"finlit_store_{id(self)}", default=None
        )
        # Every feature takes its transactions from here (``db.Connections``), so all of them
        # join the unit of work in progress.
        self.residents = Residents(self, clock)
        self.lessons = Lessons(self, clock)
        self.quizzes = Quizzes(self, clock)
        self.checkups = Checkups(self, clock)
        self.cohorts = Cohorts(self, clock)
        self.audit = AuditLog(self, clock)
        # Several processes (replicas) may share a PostgreSQL database; an SQLite file has one.
        self.shared = engine.dialect.name == "postgresql"
        self.inbox = Inbox(self, clock, shared=self.shared)
        self.outbox = Outbox(self, clock)
        self.state = AppState(self, clock)
        self.broadcasts = Broadcasts(self, clock)
        self.privacy = Privacy(self, clock)
        # The fraud tools (issue 16): the loan calculator's sessions and the drills' answers.
        self.loans = LoanSessions(self, clock)
        self.drills = DrillAnswers(self, clock)
        self.exports = Exports(self, clock)
        self.checks = CheckRecords(self, clock)  # the scam-message checker
        self.asks = AskRecords(self)  # "ask in your own words" (issue 17): counts only
        # Used when ``shared``. Its statements (a send's slot, a chat's claim, a heartbeat)
        # describe the moment, not residents' data: on PostgreSQL they commit without waiting
        # for the disk (a crash of the database forgets the last fraction of a second of them).
        self._coordination = Database(coordination_engine(engine), inline=False)
        self.replicas = Replicas(self._coordination.connections(), clock)

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Conn]:
        """One write transaction that every store call inside joins; committed at the end.

        Handling an update runs in one: its effects, the replies it queues and the inbox mark
        commit together or not at all.
        """
        if self._ambient.get() is not None:
            raise RuntimeError("units of work do not nest")
        async with self._db.write() as conn:
            token = self._ambient.set(conn)
            try:
                yield conn
            finally:
                self._ambient.reset(token)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[Conn]:
        ambient = self._ambient.get()
        if ambient is not None:
            yield ambient
            return
        async with self._db.write() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[Conn]:
        ambient = self._ambient.get()
        if ambient is not None:
            yield ambient  # reads inside a unit of work see its own writes
            return
        async with self._db.read() as conn:
            yield conn

    @classmethod
    async def open(cls, url: str, *, clock: Clock = utc_now, inline: bool = True) -> Store:
        """Connect and bring the schema to the latest migration."""
        engine = create_engine(url)
        await migrate(engine)
        return cls(engine, clock=clock, inline=inline)

    async def close(self) -> None:
        """Close every connection."""
        await self._db.dispose()
        await self._coordination.dispose()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._read() as conn:
            await conn.execute(sa.select(1))
