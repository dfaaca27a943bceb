"""/cohort new <name> (a join link and its QR code) and /cohorts (each with its size)."""

from __future__ import annotations

import secrets

from bot.core.admin import screens
from bot.core.admin.common import Desk
from bot.core.i18n import Language
from bot.core.replies import Document, Reply

# Codes go in /start payloads (A-Z a-z 0-9 _ -, at most 64): 10 characters of base32 give
# 50 random bits, short enough to read aloud and far too many to guess.
_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10
NAME_LENGTH = 128


def new_cohort_code() -> str:
    """A fresh random cohort code."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def new_cohort(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/cohort new <name>: the cohort, its join link, and the link as a QR code to show."""
    texts = desk.content.ui[language].admin
    verb, _, name = args.strip().partition(" ")
    name = " ".join(name.split())[:NAME_LENGTH]
    if verb != "new" or not name:
        return Reply((screens.notice(desk.content, language, texts.cohort_usage),))
    cohort = await desk.store.cohorts.create(code=new_cohort_code(), name=name, created_by=admin_id)
    link = desk.link_prefix + cohort.code
    poster = Document(
        filename=f"cohort-{cohort.code}.png",
        data=desk.pictures.qr_png(link),
        caption=texts.cohort_qr_caption.format(name=name),
    )
    created = screens.cohort_created(desk.content, language, name=name, link=link)
    return Reply((created,), photos=(poster,))


async def list_cohorts(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/cohorts: every cohort, its size withheld below k."""
    found = await desk.store.cohorts.all()
    return Reply((screens.cohorts_list(desk.content, language, found, min_group=desk.min_group),))
