"""``finlit preview``: open the content and a local database, then chat in the terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TextIO

from bot.assembly import admin_desk
from bot.core.ask.ready import AskerLoader
from bot.core.ask.search import build_asker
from bot.core.checks import load_content
from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.i18n import Language
from bot.preview.session import PreviewSession
from bot.settings import Settings
from bot.store import Store

DEFAULT_DATABASE = "sqlite+aiosqlite:///data/preview.db"
# Pictures (charts, QR codes) cannot be shown in a terminal; they are saved here instead.
FILES = Path("data") / "preview-files"
# The preview's own resident id; real Telegram ids are positive, so this never collides.
PREVIEW_RESIDENT_ID = -1


async def preview(
    settings: Settings,
    *,
    language: Language | None,
    database_url: str | None,
    resident_id: int,
    name: str | None,
    script: Path | None,
    out: TextIO | None = None,
) -> int:
    out = out if out is not None else sys.stdout  # read late: tests swap sys.stdout
    content = load_content(settings.content_dir)  # ContentError is reported by the caller
    # Typed questions' search (issue 17): built on a thread while the database opens and the
    # welcome shows; a question typed before it is ready waits for it.
    asker = AskerLoader(lambda: build_asker(content))
    asker.start()
    store = await Store.open(database_url or DEFAULT_DATABASE)
    try:
        tutor = Tutor(
            content,
            store,
            default_language=settings.default_language,
            admin=admin_desk(settings, content, store),
            asker=asker,
        )
        hint = language or settings.default_language
        visitor = Visitor(id=resident_id, language_hint=hint, name="")
        if language is not None:
            await tutor.prefer_language(visitor, language)
        chosen = await tutor.language_of(resident_id, hint)
        visitor = Visitor(
            id=resident_id,
            language_hint=hint,
            name=name or content.ui[chosen].preview_default_name,
        )

        def write(line: str) -> None:
            print(line, file=out, flush=True)

        if script is not None:
            session = PreviewSession(tutor, store, visitor, write, ansi=False, files=FILES)
            for line in script.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                write(f"> {line.strip()}")
                await session.enter(line)
            return 0
        ansi = out.isatty() and "NO_COLOR" not in os.environ
        session = PreviewSession(tutor, store, visitor, write, ansi=ansi, files=FILES)
        await session.hint()
        await session.enter("/start")
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except (EOFError, KeyboardInterrupt):
                write("")
                return 0
            await session.enter(line)
    finally:
        await store.close()
