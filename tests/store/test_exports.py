"""Exports written as a stream of compressed chunks, cut into parts, read back and purged."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.admin.ports import ExportTooLarge
from bot.store import Store
from bot.store import exports as export_module
from bot.store.schema import export_chunks, export_parts, exports
from tests.backends import BACKENDS, PostgresDatabases, backend_database

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
HEADER = ("resident", "question_id", "answered_week")


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases
) -> Iterator[tuple[str, bool]]:
    yield from backend_database(request.param, tmp_path, postgres_databases)


@pytest.fixture
async def store_and_clock(
    store_url: tuple[str, bool],
) -> AsyncIterator[tuple[Store, list[dt.datetime]]]:
    now = [START]
    url, inline = store_url
    store = await Store.open(url, clock=lambda: now[0], inline=inline)
    yield store, now
    await store.close()


def noisy_rows(count: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """Rows that compress about as badly as pseudonyms do (random hex)."""
    rng = random.Random(seed)
    return [(f"{rng.getrandbits(64):016x}", f"q{i % 40}", "2026-W49") for i in range(count)]


async def stream(rows: Sequence[Sequence[object]]) -> AsyncIterator[Sequence[object]]:
    for row in rows:
        yield row


def parse(data: bytes) -> list[list[str]]:
    text = gzip.decompress(data).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads Chinese only with the BOM
    return list(csv.reader(io.StringIO(text[1:])))


async def count(store: Store, table: sa.Table) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_a_large_export_is_cut_into_whole_parts_below_the_limit(
    store_and_clock: tuple[Store, list[dt.datetime]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = store_and_clock
    monkeypatch.setattr(export_module, "CHUNK_BYTES", 8 * 1024)  # several chunks per part
    rows = noisy_rows(40_000)  # about 1 MB of CSV
    writer = store.exports.writer(chat_id=9, stem="answers", header=HEADER, part_bytes=200_000)
    parts = await writer.write_rows(stream(rows))
    assert writer.rows == len(rows)
    assert len(parts) >= 3
    await writer.caption(lambda part, total: f"part {part} of {total}")
    back: list[list[str]] = []
    for part in parts:
        assert part.filename == f"answers-{part.part}.csv.gz"
        found = await store.exports.read_part(export_id=part.export_id, part=part.part)
        assert found is not None and found.caption == f"part {part.part} of {len(parts)}"
        assert len(found.data) == part.size
        # Closed once past the limit: it overshoots by at most one compressed step.
        assert part.size < 200_000 + 64 * 1024
        table = parse(found.data)  # each part is a whole file: opens on its own
        assert tuple(table[0]) == HEADER
        back.extend(table[1:])
    assert [tuple(row) for row in back] == rows
    assert await count(store, export_chunks) > len(parts)


async def test_a_small_export_is_one_part(store_and_clock: tuple[Store, list[dt.datetime]]) -> None:
    store, _ = store_and_clock
    writer = store.exports.writer(chat_id=9, stem="answers", header=HEADER)
    parts = await writer.write_rows(stream([("a", "q1", "2026-W49")]))
    assert [(p.part, p.filename) for p in parts] == [(1, "answers-1.csv.gz")]
    found = await store.exports.read_part(export_id=parts[0].export_id, part=1)
    assert found is not None and parse(found.data) == [list(HEADER), ["a", "q1", "2026-W49"]]
    empty = await store.exports.writer(chat_id=9, stem="none", header=HEADER).write_rows(stream([]))
    found = await store.exports.read_part(export_id=empty[0].export_id, part=1)
    assert found is not None and parse(found.data) == [list(HEADER)]


async def test_too_many_parts_is_refused_and_leaves_nothing(
    store_and_clock: tuple[Store, list[dt.datetime]],
) -> None:
    store, _ = store_and_clock
    writer = store.exports.writer(
        chat_id=9, stem="answers", header=HEADER, part_bytes=50_000, max_parts=2
    )
    with pytest.raises(ExportTooLarge) as refused:
        await writer.write_rows(stream(noisy_rows(40_000)))
    assert refused.value.parts == 2
    for table in (exports, export_parts, export_chunks):
        assert await count(store, table) == 0


async def test_a_failing_row_source_leaves_nothing(
    store_and_clock: tuple[Store, list[dt.datetime]],
) -> None:
    store, _ = store_and_clock

    async def broken() -> AsyncIterator[Sequence[object]]:
        yield ("a", "q1", "2026-W49")
        raise OSError("the read connection went away")

    with pytest.raises(OSError):
        await store.exports.writer(chat_id=9, stem="x", header=HEADER).write_rows(broken())
    assert await count(store, exports) == 0


async def test_delivered_exports_go_a_day_later_and_forgotten_ones_after_two(
    store_and_clock: tuple[Store, list[dt.datetime]],
) -> None:
    store, now = store_and_clock
    rows = noisy_rows(20_000)
    delivered = await store.exports.writer(
        chat_id=9, stem="a", header=HEADER, part_bytes=100_000
    ).write_rows(stream(rows))
    abandoned = await store.exports.writer(chat_id=9, stem="b", header=HEADER).write_rows(
        stream(rows)
    )
    assert len(delivered) >= 2
    for part in delivered[:-1]:
        await store.exports.part_sent(export_id=part.export_id, part=part.part)
    now[0] = START + dt.timedelta(days=1, hours=1)
    assert await store.exports.purge() == 0  # one part still waits: not delivered yet
    last = delivered[-1]
    await store.exports.part_sent(export_id=last.export_id, part=last.part)
    assert await store.exports.purge() == 0  # delivered just now
    now[0] = START + dt.timedelta(days=2, hours=2)
    assert await store.exports.purge() == 2  # a day after delivery; two days undelivered
    assert await store.exports.read_part(export_id=abandoned[0].export_id, part=1) is None
    for table in (exports, export_parts, export_chunks):
        assert await count(store, table) == 0


async def test_mydata_shows_and_forget_erases_an_administrators_exports(
    store_and_clock: tuple[Store, list[dt.datetime]],
) -> None:
    store, _ = store_and_clock
    await store.residents.ensure(resident_id=9, language="en")
    await store.exports.writer(chat_id=9, stem="a", header=HEADER).write_rows(
        stream(noisy_rows(100))
    )
    mine = await store.privacy.export(resident_id=9)
    assert len(mine["exports"]) == 1 and "data" not in mine["exports"][0]
    await store.privacy.forget(resident_id=9)
    for table in (exports, export_parts, export_chunks):
        assert await count(store, table) == 0
