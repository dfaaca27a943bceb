"""Large files for administrators, written as a stream of compressed chunks and sent in parts.

An answer-level export can hold millions of rows. It is never built whole in memory nor put in
one outbox row: rows are CSV-encoded and gzip-compressed as they stream out of the database,
stored in chunk rows of their own (each in a short write of its own, so residents' writes are
never held up for long), and cut into parts that each stay below Telegram's 50 MB limit for a
bot's documents. The outbox then carries only a reference to each part; whichever process
delivers it reads the part's chunks back. Housekeeping purges an export a day after its last
part was delivered (and one never delivered after two days).
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.admin.ports import MAX_PARTS, PART_BYTES, ExportTooLarge
from bot.core.replies import StoredFile
from bot.store.db import Conn, Connections
from bot.store.schema import export_chunks, export_parts, exports

CHUNK_BYTES = 1024 * 1024  # one chunk row: small writes, few of them
_ENCODE_EVERY = 64 * 1024  # characters of CSV text compressed at a time
_YIELD_EVERY = 500  # rows encoded between two turns of the event loop
KEEP_DELIVERED = dt.timedelta(days=1)
KEEP_UNDELIVERED = dt.timedelta(days=2)


@dataclasses.dataclass(frozen=True)
class PartFile:
    """One part read back for sending."""

    filename: str
    caption: str
    data: bytes


class Exports:
    """The store's exports: writing them chunk by chunk, reading parts back, purging."""

    def __init__(self, connections: Connections, clock: Callable[[], dt.datetime]) -> None:
        self._db = connections
        self._now = clock

    def writer(
        self,
        *,
        chat_id: int,
        stem: str,
        header: Sequence[str],
        part_bytes: int = PART_BYTES,
        max_parts: int = MAX_PARTS,
    ) -> ExportWriter:
        """A writer for a new export of CSV rows; files are named ``<stem>-<part>.csv.gz``."""
        return ExportWriter(
            self,
            chat_id=chat_id,
            stem=stem,
            header=header,
            part_bytes=part_bytes,
            max_parts=max_parts,
        )

    async def _create(self, *, chat_id: int) -> int:
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.insert(exports)
                .values(chat_id=chat_id, created_at=self._now())
                .returning(exports.c.id)
            )
            return int(result.scalar_one())

    async def _add_part(self, *, export_id: int, part: int, filename: str) -> None:
        async with self._db._write() as conn:
            await conn.execute(
                sa.insert(export_parts).values(
                    export_id=export_id, part=part, filename=filename, caption="", size=0
                )
            )

    async def _add_chunk(self, *, export_id: int, part: int, seq: int, data: bytes) -> None:
        async with self._db._write() as conn:
            await conn.execute(
                sa.insert(export_chunks).values(export_id=export_id, part=part, seq=seq, data=data)
            )
            await conn.execute(
                sa.update(export_parts)
                .where(export_parts.c.export_id == export_id, export_parts.c.part == part)
                .values(size=export_parts.c.size + len(data))
            )

    async def _caption(self, *, export_id: int, part: int, caption: str) -> None:
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(export_parts)
                .where(export_parts.c.export_id == export_id, export_parts.c.part == part)
                .values(caption=caption)
            )

    async def discard(self, *, export_id: int) -> None:
        """Delete an export and everything in it (children first: no backend needs CASCADE)."""
        async with self._db._write() as conn:
            await self._delete(conn, [export_id])

    async def _delete(self, conn: Conn, ids: list[int]) -> None:
        await conn.execute(sa.delete(export_chunks).where(export_chunks.c.export_id.in_(ids)))
        await conn.execute(sa.delete(export_parts).where(export_parts.c.export_id.in_(ids)))
        await conn.execute(sa.delete(exports).where(exports.c.id.in_(ids)))

    async def read_part(self, *, export_id: int, part: int) -> PartFile | None:
        """A part's file, its chunks joined; None once purged (or never written)."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(
                    sa.select(export_parts.c.filename, export_parts.c.caption).where(
                        export_parts.c.export_id == export_id, export_parts.c.part == part
                    )
                )
            ).first()
            if row is None:
                return None
            chunks = await conn.execute(
                sa.select(export_chunks.c.data)
                .where(export_chunks.c.export_id == export_id, export_chunks.c.part == part)
                .order_by(export_chunks.c.seq)
            )
            data = b"".join(bytes(chunk) for chunk in chunks.scalars())
        return PartFile(filename=row.filename, caption=row.caption, data=data)

    async def part_sent(self, *, export_id: int, part: int) -> None:
        """Telegram accepted a part; the export counts as delivered once every part was."""
        now = self._now()
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(export_parts)
                .where(export_parts.c.export_id == export_id, export_parts.c.part == part)
                .values(sent_at=now)
            )
            waiting = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(export_parts)
                .where(export_parts.c.export_id == export_id, export_parts.c.sent_at.is_(None))
            )
            if not waiting:
                await conn.execute(
                    sa.update(exports).where(exports.c.id == export_id).values(delivered_at=now)
                )

    async def purge(self, *, limit: int = 20) -> int:
        """Delete exports delivered over a day ago, or made over two days ago and never
        delivered (the administrator blocked the bot, or a crash cut the export short)."""
        now = self._now()
        async with self._db._write() as conn:
            ids = [
                int(export_id)
                for export_id in (
                    await conn.execute(
                        sa.select(exports.c.id)
                        .where(
                            sa.or_(
                                exports.c.delivered_at < now - KEEP_DELIVERED,
                                exports.c.created_at < now - KEEP_UNDELIVERED,
                            )
                        )
                        .limit(limit)
                    )
                ).scalars()
            ]
            if ids:
                await self._delete(conn, ids)
        return len(ids)

    async def summary(self) -> list[dict[str, Any]]:
        """Every export still stored: id, parts, bytes, created and delivered (for operators)."""
        query = (
            sa.select(
                exports.c.id,
                exports.c.created_at,
                exports.c.delivered_at,
                sa.func.count(export_parts.c.part).label("parts"),
                sa.func.coalesce(sa.func.sum(export_parts.c.size), 0).label("bytes"),
            )
            .select_from(exports.outerjoin(export_parts))
            .group_by(exports.c.id, exports.c.created_at, exports.c.delivered_at)
            .order_by(exports.c.id)
        )
        async with self._db._read() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]


class ExportWriter:
    """Rows in, compressed chunks out: memory stays at about one chunk whatever the size."""

    def __init__(
        self,
        exports: Exports,
        *,
        chat_id: int,
        stem: str,
        header: Sequence[str],
        part_bytes: int,
        max_parts: int,
    ) -> None:
        self._exports = exports
        self._chat_id = chat_id
        self._stem = stem
        self._header = list(header)
        self._part_bytes = part_bytes
        self._max_parts = max_parts
        self.export_id: int | None = None
        self.rows = 0
        self._parts: list[StoredFile] = []
        self._part = 0
        self._seq = 0
        self._part_size = 0  # compressed bytes of the current part, stored or waiting
        self._text = io.StringIO()
        self._csv = csv.writer(self._text)
        self._compressor: Any = None
        self._out = bytearray()
        self._part_full = True  # a part is opened when the next row comes, never empty

    async def write_rows(self, rows: AsyncIterator[Sequence[object]]) -> list[StoredFile]:
        """Write every row, then finish; a failure (or ExportTooLarge) leaves nothing behind."""
        self.export_id = await self._exports._create(chat_id=self._chat_id)
        try:
            async for row in rows:
                if self._part_full:
                    await self._open_part()
                self._csv.writerow(row)
                self.rows += 1
                if self._text.tell() >= _ENCODE_EVERY:
                    await self._compress()
                if self.rows % _YIELD_EVERY == 0:
                    # Rows come from the database a batch at a time, and a batch is encoded with
                    # no await in between: let residents' updates in now and then.
                    await asyncio.sleep(0)
            return await self._finish()
        except BaseException:
            await self._exports.discard(export_id=self.export_id)
            raise

    async def caption(self, caption_of: Callable[[int, int], str]) -> None:
        """Give every part its caption, knowing now how many parts there are."""
        assert self.export_id is not None
        total = len(self._parts)
        for part in self._parts:
            await self._exports._caption(
                export_id=self.export_id, part=part.part, caption=caption_of(part.part, total)
            )

    async def _open_part(self) -> None:
        assert self.export_id is not None
        self._part += 1
        if self._part > self._max_parts:
            raise ExportTooLarge(self._max_parts, self._part_bytes)
        self._seq = 0
        self._part_size = 0
        self._part_full = False
        # gzip framing (wbits 16+15): each part opens on its own with any unzip tool.
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        filename = f"{self._stem}-{self._part}.csv.gz"
        await self._exports._add_part(export_id=self.export_id, part=self._part, filename=filename)
        self._parts.append(StoredFile(self.export_id, self._part, filename, 0))
        # Every part is a whole CSV file: a BOM so Excel reads Chinese, then the header.
        self._text.write("\ufeff")
        self._csv.writerow(self._header)

    def _squeeze(self) -> None:
        data = self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()
        # A sync flush each step (cheap: the window is kept) makes the part's size exact, so
        # a part overshoots its limit by at most one step's compressed text.
        compressed = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self._out += compressed
        self._part_size += len(compressed)

    async def _compress(self) -> None:
        self._squeeze()
        if len(self._out) >= CHUNK_BYTES:
            await self._store_chunk()
        if self._part_size >= self._part_bytes:
            await self._close_part()
            self._part_full = True

    async def _store_chunk(self) -> None:
        assert self.export_id is not None
        if not self._out:
            return
        await self._exports._add_chunk(
            export_id=self.export_id, part=self._part, seq=self._seq, data=bytes(self._out)
        )
        self._seq += 1
        self._out.clear()

    async def _close_part(self) -> None:
        tail = self._compressor.flush()
        self._out += tail
        self._part_size += len(tail)
        await self._store_chunk()
        done = self._parts[-1]
        self._parts[-1] = dataclasses.replace(done, size=self._part_size)

    async def _finish(self) -> list[StoredFile]:
        if not self._parts:
            await self._open_part()  # no rows at all: one file with the header alone
        if not self._part_full:
            self._squeeze()
            await self._close_part()
        return list(self._parts)
