"""The benchmarks' PostgreSQL plumbing: a connection from a SQLAlchemy URL, one statement on the
server, and a database of a run's own (made on entry, dropped on exit)."""

from __future__ import annotations

import os
import time
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url


async def connect(url: str | URL) -> Any:
    """An asyncpg connection to the database ``url`` names (a SQLAlchemy URL)."""
    parts = make_url(url)
    return await asyncpg.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        database=parts.database or "postgres",
    )


async def execute(url: str | URL, sql: str) -> None:
    """One statement (CREATE DATABASE, DROP DATABASE …) on the database ``url`` names."""
    conn = await connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_url(server_url: str | URL, name: str) -> str:
    """``server_url`` with its database replaced by ``name``."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


class OwnDatabase:
    """A new database on the server of ``server_url`` for one run, dropped afterwards."""

    def __init__(self, server_url: str, prefix: str) -> None:
        self.server_url = server_url
        self.name = f"{prefix}_{os.getpid()}_{time.monotonic_ns()}"
        self.url = database_url(server_url, self.name)

    async def __aenter__(self) -> OwnDatabase:
        await execute(self.server_url, f'CREATE DATABASE "{self.name}"')
        return self

    async def __aexit__(self, *exc: object) -> None:
        await execute(self.server_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
