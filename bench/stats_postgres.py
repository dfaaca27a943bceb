"""bench/stats.py on PostgreSQL: a database of the benchmark's own, filled from its SQLite file.

The population is generated once, in SQLite (bench/stats.py), and copied into a new PostgreSQL
database: the schema by the migrations, then every table by COPY ... CSV (asyncpg's
``copy_to_table``, the rows as SQLite holds them) with the foreign-key triggers off while
loading, then VACUUM ANALYZE (fresh statistics, and the visibility map that lets index-only
scans skip the heap). The
database is named after the population's parameters, so ``--reuse`` finds it again; without
``--keep`` it is dropped at the end.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.postgres import connect, database_url
from bot.store import Store
from bot.store.schema import metadata

BATCH = 50_000


def database_name(params: dict[str, Any]) -> str:
    """The benchmark database for one population (so --reuse can find it)."""
    return "finlit_bench_stats_{residents}_{answers}_{seed}".format(**params)


async def saved_params(server_url: str, name: str) -> dict[str, Any] | None:
    """The parameters a kept benchmark database was filled with (its comment), if it exists."""
    conn = await connect(server_url)
    try:
        comment = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
    finally:
        await conn.close()
    try:
        saved = json.loads(comment) if comment else None
    except ValueError:
        return None
    return saved if isinstance(saved, dict) else None


async def drop(server_url: str, name: str) -> None:
    conn = await connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _select(table: sa.Table) -> str:
    """SQLite's SELECT of every column, as COPY ... CSV reads it (bytes as bytea's hex form)."""
    names = []
    for column in table.columns:
        name = f'"{column.name}"'
        names.append(f"'\\x' || hex({name})" if isinstance(column.type, sa.LargeBinary) else name)
    return f'SELECT {", ".join(names)} FROM "{table.name}"'


async def _csv(db: sqlite3.Connection, table: sa.Table) -> AsyncIterator[bytes]:
    """The table's rows as CSV, a batch at a time.

    The values go as SQLite holds them: timestamps as SQLAlchemy's text (read as UTC, the
    session's zone), booleans as 0/1, floats by ``repr`` (exact). NULL is an empty field, so an
    empty string would become NULL too: the generated population has none (a NOT NULL column
    would refuse it, and the figures' comparison would differ).
    """
    cursor = db.execute(_select(table))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    while rows := cursor.fetchmany(BATCH):
        writer.writerows(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


async def fill(
    sqlite_path: Path, server_url: str, name: str, params: dict[str, Any]
) -> dict[str, float]:
    """A new database ``name`` holding a copy of the SQLite population; seconds per phase."""
    await drop(server_url, name)
    conn = await connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = database_url(server_url, name)
    started = time.perf_counter()
    store = await Store.open(url)  # the schema, by the migrations
    await store.close()
    migrated = time.perf_counter()
    db = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    conn = await connect(url)
    try:
        # Loading a consistent copy: skip the foreign-key triggers row by row (superuser only).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET TIME ZONE 'UTC'")  # SQLite's timestamps are UTC, without zone
        for table in metadata.sorted_tables:
            await conn.copy_to_table(
                table.name,
                source=_csv(db, table),
                columns=[c.name for c in table.columns],
                format="csv",
            )
        copied = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        analyzed = time.perf_counter()
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{json.dumps(params)}'")
    finally:
        await conn.close()
        db.close()
    return {
        "migrate_s": migrated - started,
        "copy_s": copied - migrated,
        "vacuum_analyze_s": analyzed - copied,
    }


async def table_rows(url: str, tables: Sequence[str]) -> dict[str, int]:
    conn = await connect(url)
    try:
        return {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in tables}
    finally:
        await conn.close()


async def server_version(server_url: str) -> str:
    conn = await connect(server_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def explain(url: str, statement: str, parameters: Sequence[Any]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement as asyncpg runs it ($1, $2, ...)."""
    conn = await connect(url)
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
    finally:
        await conn.close()
    return [str(row[0]) for row in rows]
