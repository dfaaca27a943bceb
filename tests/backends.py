"""The databases the store's contract runs on: SQLite (inline and asyncio) and PostgreSQL.

PostgreSQL comes from ``FINLIT_TEST_POSTGRES_URL`` (default: the local server every machine of
this project runs). A test run migrates one template database of its own; each test gets a
database copied from it (``CREATE DATABASE … TEMPLATE``), which is emptied (TRUNCATE, much faster
than dropping and copying again) and handed to the next test; all are dropped when the run ends. Under CI (``CI=true``) an unreachable server fails the run; on a
laptop without one, the PostgreSQL cases skip and say why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url

from bot.store import Store

T = TypeVar("T")

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = [
    "sqlite-inline",
    "sqlite-asyncio",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


def postgres_admin_url() -> str:
    return os.environ.get("FINLIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _off_loop(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a loop of its own (fixtures run beside a test's loop)."""

    async def run() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def _connect(database: str | None = None) -> Any:
    """An asyncpg connection to ``database`` (default: the one in the URL) on the test server."""
    import asyncpg

    url = make_url(postgres_admin_url())
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=database or url.database or "postgres",
        timeout=5,
    )


async def _admin(sql: str) -> None:
    conn = await _connect()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _drop_abandoned() -> None:
    """Drop the databases of earlier test runs whose process is gone (killed before its end)."""
    conn = await _connect()
    try:
        names = [
            row["datname"]
            for row in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE 'finlit_test_%'"
            )
        ]
        for name in names:
            pid = name.removeprefix("finlit_test_").split("_", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


async def _truncate(database: str) -> None:
    conn = await _connect(database)
    try:
        tables = [
            row["tablename"]
            for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            await conn.execute("SET lock_timeout = '5s'")  # a connection left open: drop instead
            names = ", ".join(f'"{table}"' for table in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def _url_of(database: str) -> str:
    return (
        make_url(postgres_admin_url()).set(database=database).render_as_string(hide_password=False)
    )


class PostgresDatabases:
    """This run's template (migrated once) and the databases copied from it."""

    def __init__(self) -> None:
        self.tag = f"finlit_test_{os.getpid()}"
        self.template = f"{self.tag}_template"
        self._numbers = itertools.count(1)
        self._made: list[str] = []
        self._free: list[str] = []
        self.error: str | None = None
        self.ready = False

    def prepare(self) -> None:
        if self.ready or self.error is not None:
            return
        try:
            _off_loop(_drop_abandoned)
            _off_loop(lambda: _admin(f'DROP DATABASE IF EXISTS "{self.template}"'))
            _off_loop(lambda: _admin(f'CREATE DATABASE "{self.template}"'))

            async def migrate() -> None:
                store = await Store.open(_url_of(self.template))
                await store.close()

            _off_loop(migrate)
            self.ready = True
        except Exception as exc:  # unreachable, refused, not installed: said once, clearly
            self.error = f"PostgreSQL at {postgres_admin_url()} is not usable: {exc!r}"

    def new(self) -> tuple[str, str]:
        """(name, URL) of an empty migrated database; give it back with ``release``."""
        if self._free:
            name = self._free.pop()
            return name, _url_of(name)
        name = f"{self.tag}_{next(self._numbers)}"
        _off_loop(lambda: _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        # A test's database need not survive a power cut: commits skip the wait for the disk.
        _off_loop(lambda: _admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        self._made.append(name)
        return name, _url_of(name)

    def release(self, name: str) -> None:
        """Empty a database a test is done with (ids restart too), for the next test."""
        try:
            _off_loop(lambda: _truncate(name))
        except Exception:
            self.drop(name)  # something held on to it: not worth reusing
            return
        self._free.append(name)

    def new_empty(self) -> tuple[str, str]:
        """(name, URL) of a fresh database with no schema at all (a first start)."""
        name = f"{self.tag}_{next(self._numbers)}"
        _off_loop(lambda: _admin(f'CREATE DATABASE "{name}"'))
        return name, _url_of(name)

    def drop(self, name: str) -> None:
        _off_loop(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self._made:
            self.drop(name)
        if self.ready:
            self.drop(self.template)


def require(databases: PostgresDatabases) -> None:
    """Skip (or, under CI, fail) when PostgreSQL cannot be used."""
    databases.prepare()
    if databases.error is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(databases.error, pytrace=False)
    pytest.skip(databases.error)


def backend_database(
    backend: str, tmp_path: Path, databases: PostgresDatabases
) -> Iterator[tuple[str, bool]]:
    """(URL, inline) for one test on ``backend``; a PostgreSQL database is dropped afterwards."""
    if backend != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_path}/store.db", backend == "sqlite-inline"
        return
    require(databases)
    name, url = databases.new()
    try:
        yield url, False
    finally:
        databases.release(name)
