"""What only PostgreSQL has to get right: several processes on one database."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bot.store import Store
from tests.backends import PostgresDatabases, require

pytestmark = pytest.mark.postgres


async def test_replicas_started_together_on_an_empty_database_take_turns_migrating(
    postgres_databases: PostgresDatabases,
) -> None:
    """Without the migration lock, all but one die on a duplicate key creating alembic_version."""
    require(postgres_databases)
    name, url = postgres_databases.new_empty()
    try:
        opening = asyncio.gather(*(Store.open(url, inline=False) for _ in range(3)))
        stores = await asyncio.wait_for(opening, 60)  # without the lock: an error, or a hang
        try:
            async with stores[0].engine.connect() as conn:
                versions = (await conn.execute(sa.text("SELECT * FROM alembic_version"))).all()
            assert len(versions) == 1
            for number, store in enumerate(stores, start=1):  # each one works
                await store.residents.ensure(resident_id=number, language="zh")
            assert await stores[2].residents.get(resident_id=1) is not None
        finally:
            for store in stores:
                await store.close()
    finally:
        postgres_databases.drop(name)
