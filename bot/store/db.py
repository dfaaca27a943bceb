"""Engine creation, schema migration, and the connection the store's own statements run on."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, CursorResult, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
IMMEDIATE = "finlit_write"  # execution option marking write transactions


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for write transactions."""

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The driver's own implicit BEGIN is switched off so that "begin" below decides it.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # A write transaction takes SQLite's write lock at BEGIN (waiting up to the busy
        # timeout) instead of failing later when a read turns into a write, which is what
        # lets two processes share one database safely.
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    ``hide_parameters``: an error's message (and so any log line or traceback quoting it) never
    includes the statement's parameters, which hold residents' data (updates, answers).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, hide_parameters=True)
    _configure_sqlite(engine.sync_engine)
    return engine


def coordination_engine(engine: AsyncEngine) -> AsyncEngine:
    """For statements whose loss in a crash of the database costs nothing (``Replicas``): on
    PostgreSQL a small pool of autocommitted statements that do not wait for the disk
    (``synchronous_commit`` off), so that a send's slot costs one round trip and no flush;
    elsewhere ``engine``. No ping before each use (it would be a second round trip): a
    statement on a connection the server dropped fails once, and its caller tries again."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_async_engine(
        engine.url,
        hide_parameters=True,
        pool_size=2,
        max_overflow=8,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


def inline_twin(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file, for statements run on the loop's thread.

    The store's own statements read or write a handful of rows by key and take some ten
    microseconds in SQLite, while aiosqlite sends each one to a worker thread and back, which
    costs about fifteen times that and wakes the event loop twice (bench/load.py measured it as
    most of the database's share of a reply). Run inline, a unit of work that only uses the
    store never yields to the loop, so the write lock is held for the shortest possible time.
    Long reads (administrators' figures) stay on the asyncio engine, off the loop's thread.
    None when there is no file to share (another database, or SQLite in memory).
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    # A checkout must never wait for a free connection: it would wait on the loop's thread,
    # where nobody could return one. So the pool may grow (max_overflow=-1); it seldom needs
    # more than two, since inline statements never yield to the loop.
    twin = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"), pool_size=4, max_overflow=-1, hide_parameters=True
    )
    _configure_sqlite(twin)
    return twin


class InlineConnection:
    """A synchronous connection behind the awaitable methods the store calls on connections."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def dialect(self) -> Dialect:
        return self._connection.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return self._connection.execute(statement, parameters)

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return self._connection.scalar(statement, parameters)


# What the store's statements run on: an asyncio connection, or an inline one for SQLite.
Conn: TypeAlias = AsyncConnection | InlineConnection


class Connections(Protocol):
    """Where a feature's repository gets its transactions (the Store, which may have one open)."""

    def _write(self) -> contextlib.AbstractAsyncContextManager[Conn]: ...
    def _read(self) -> contextlib.AbstractAsyncContextManager[Conn]: ...


class Database:
    """Where the store's transactions come from, and the order its writers take turns in."""

    def __init__(self, engine: AsyncEngine, *, inline: bool = True) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{IMMEDIATE: True})
        self.inline = inline_twin(engine) if inline else None
        self._inline_writer = (
            self.inline.execution_options(**{IMMEDIATE: True}) if self.inline else None
        )
        # SQLite: one gate per file (see write_gate). PostgreSQL: one per store, so that two
        # stores of one process (tests of replicas) wait for each other only where two
        # processes would, in the database.
        self._gate = str(engine.url)
        if engine.dialect.name != "sqlite":
            self._gate += f"#{id(self)}"

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), this process's writers in turn."""
        async with write_gate(self._gate):
            if self._inline_writer is not None:
                with self._inline_writer.begin() as conn:
                    yield InlineConnection(conn)
            else:
                async with self._writer.begin() as async_conn:
                    yield async_conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        if self.inline is not None:
            with self.inline.connect() as conn:
                yield InlineConnection(conn)
        else:
            async with self.engine.connect() as async_conn:
                yield async_conn

    def connections(self) -> Connections:
        """Transactions of their own for a repository (never joining a unit of work)."""
        return _Own(self)

    async def dispose(self) -> None:
        if self.inline is not None:
            self.inline.dispose()
        await self.engine.dispose()


class _Own:
    """``Connections`` straight from a database: every call its own transaction."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def _write(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        return self._database.write()

    def _read(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        return self._database.read()


# SQLite has one writer at a time and its busy handler serves waiters in no particular order,
# so a writer could wait past the busy timeout. Queueing this process's writers to one database
# here, first come first served, leaves at most one of them waiting inside SQLite. The gate is
# per database, not per store: an inline writer waiting inside SQLite blocks the loop's thread,
# so it must never wait for another store of this process that holds the lock across an await.
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def write_gate(key: str) -> asyncio.Lock:
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    return gates.setdefault(key, asyncio.Lock())


# PostgreSQL advisory lock key for schema migrations (any constant that nothing else uses).
MIGRATION_LOCK = 0x66696E6C6974  # "finlit"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Create or upgrade the schema to the latest revision."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas started together on an empty database would each create alembic_version
            # and all but one die on a duplicate key. This lock (released at commit) makes them
            # take turns: the second finds the schema current and does nothing.
            await connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(upgrade)
