"""``finlit db copy``: move a deployment's data to another database (SQLite to PostgreSQL).

Both databases are brought to the latest migration first, so they have the same tables. Tables
are copied parents first, in batches (by COPY into PostgreSQL), each batch in a transaction of
its own; the target must be
empty unless ``force`` (then its rows are deleted first). Afterwards every table's row count and
the sum of each of its numeric columns must be equal on both sides, and PostgreSQL's id sequences
are moved past the copied ids so new rows do not collide with them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine, migrate
from bot.store.schema import metadata

BATCH = 5000


class TargetNotEmpty(Exception):
    """The target already holds data; copying would mix two deployments."""

    def __init__(self, tables: dict[str, int]) -> None:
        super().__init__(", ".join(f"{name} {count}" for name, count in tables.items()))
        self.tables = tables


class CopyMismatch(Exception):
    """After copying, a table's figures differ between the two databases."""


@dataclasses.dataclass(frozen=True)
class TableCopied:
    name: str
    rows: int


def _numeric_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, sa.Integer | sa.Float | sa.Boolean)
    ]


def _fingerprint_query(table: sa.Table) -> sa.Select[Any]:
    """Row count and the sum of every numeric column: equal on both sides after a copy."""
    sums = [
        sa.func.coalesce(sa.func.sum(sa.case((column.is_(True), 1), else_=0)), 0)
        if isinstance(column.type, sa.Boolean)
        else sa.func.coalesce(sa.func.sum(column), 0)
        for column in _numeric_columns(table)
    ]
    return sa.select(sa.func.count(), *sums).select_from(table)


def _utc(value: Any) -> Any:
    # SQLite keeps datetimes without their zone (finlit writes UTC): say so, for PostgreSQL.
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
        }


async def _fingerprints(engine: AsyncEngine) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            row = (await conn.execute(_fingerprint_query(table))).one()
            out[table.name] = tuple(float(value or 0) for value in row)
    return out


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    progress: Callable[[TableCopied], None] = lambda _: None,
) -> list[TableCopied]:
    """Copy every table of ``source_url`` into ``target_url``; returns what was copied."""
    source, target = create_engine(source_url), create_engine(target_url)
    try:
        await migrate(source)
        await migrate(target)
        occupied = {name: n for name, n in (await _counts(target)).items() if n}
        if occupied and not force:
            raise TargetNotEmpty(occupied)
        async with target.begin() as conn:
            for table in reversed(metadata.sorted_tables):  # children first
                await conn.execute(sa.delete(table))
        copied = []
        for table in metadata.sorted_tables:  # parents first
            rows = await _copy_table(source, target, table)
            copied.append(TableCopied(table.name, rows))
            progress(copied[-1])
        if target.dialect.name == "postgresql":
            await _advance_sequences(target)
        before, after = await _fingerprints(source), await _fingerprints(target)
        different = [name for name in before if before[name] != after[name]]
        if different:
            raise CopyMismatch(f"tables differ after the copy: {', '.join(different)}")
        return copied
    finally:
        await source.dispose()
        await target.dispose()


async def _copy_table(source: AsyncEngine, target: AsyncEngine, table: sa.Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    names = [column.name for column in table.columns]
    total = 0
    async with source.connect() as reading:
        result = await reading.stream(sa.select(table).order_by(*order))
        async for batch in result.partitions(BATCH):
            rows = [tuple(_utc(value) for value in row) for row in batch]
            async with target.begin() as writing:
                if target.dialect.driver == "asyncpg":
                    # PostgreSQL's COPY: several times faster than INSERTs at province scale.
                    driver = (await writing.get_raw_connection()).driver_connection
                    if driver is None:
                        raise RuntimeError("the PostgreSQL connection is closed")
                    await driver.copy_records_to_table(table.name, records=rows, columns=names)
                else:
                    rows_by_name = [dict(zip(names, row, strict=True)) for row in rows]
                    await writing.execute(sa.insert(table), rows_by_name)
            total += len(rows)
    return total


async def _advance_sequences(target: AsyncEngine) -> None:
    """Move each serial id's sequence past the largest copied id."""
    async with target.begin() as conn:
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if column.autoincrement is not True and not (
                    column.autoincrement == "auto"
                    and isinstance(column.type, sa.Integer)
                    and len(table.primary_key.columns) == 1
                ):
                    continue
                sequence = await conn.scalar(
                    sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
                )
                if sequence is None:
                    continue
                highest = await conn.scalar(sa.select(sa.func.max(column)))
                if highest is not None:
                    await conn.execute(
                        sa.select(sa.func.setval(sequence, highest)),
                    )
