"""/broadcast [@cohort] <text> -> a preview with [Send] [Cancel] -> a durable job.

The channel's broadcast worker delivers a confirmed broadcast and reports its progress.
"""

from __future__ import annotations

import re

from bot.core import callbacks as cb
from bot.core.admin import screens
from bot.core.admin.common import Desk
from bot.core.admin.figures import Figures
from bot.core.consent import ANNOUNCEMENTS
from bot.core.html import visible_length
from bot.core.i18n import Language
from bot.core.models import Cohort
from bot.core.replies import Reply

# An announcement is one message: Telegram's limit for a message.
BROADCAST_LIMIT = screens.MESSAGE_LIMIT
# A cohort name in "/broadcast @<name> <text>" is at most this many words (names are 128 chars).
_MAX_NAME_WORDS = 16
_WORD = re.compile(r"\S+")


async def _named_cohort(desk: Desk, rest: str) -> tuple[Cohort, str] | None:
    """The cohort named at the start of ``rest`` (longest name first) and the text after it."""
    words = list(_WORD.finditer(rest))[:_MAX_NAME_WORDS]
    for count in range(len(words), 0, -1):
        name = " ".join(w.group() for w in words[:count])
        cohort = await desk.store.cohorts.find(name=name) or await desk.store.cohorts.find(
            code=name
        )
        if cohort is not None:
            return cohort, rest[words[count - 1].end() :].strip()
    return None


async def draft(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/broadcast: a draft and its preview, or why there is none."""
    content = desk.content
    texts = content.ui[language].admin

    def say(text: str) -> Reply:
        return Reply((screens.notice(content, language, text),))

    text = args.strip()
    cohort: Cohort | None = None
    scope = texts.scope_all
    if text.startswith("@"):
        found = await _named_cohort(desk, text[1:])
        if found is None:
            name = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
            return say(texts.unknown_cohort.format(name=name))
        cohort, text = found
        scope = cohort.name
    if not text:
        return say(texts.broadcast_usage)
    message = screens.broadcast_message(content, language, text, keyboard=())
    if visible_length(message.text) > BROADCAST_LIMIT:
        return say(texts.broadcast_too_long.format(limit=BROADCAST_LIMIT))
    cohort_id = cohort.id if cohort else None
    # Only residents whose accepted privacy notice names announcements receive them.
    count = await desk.store.broadcasts.audience(
        cohort_id=cohort_id, notice_version=content.privacy.introduced_in(ANNOUNCEMENTS)
    )
    if count == 0:
        return say(texts.broadcast_nobody.format(scope=scope))
    made = await desk.store.broadcasts.create(admin_id=admin_id, cohort_id=cohort_id, text=text)
    audience = Figures(texts, desk.min_group).size(count)
    preview = screens.broadcast_preview(
        content, language, text=text, scope=scope, audience=audience, draft_id=made.id
    )
    return Reply(preview)


async def press(
    desk: Desk, admin_id: int, language: Language, action: cb.BroadcastSend | cb.BroadcastCancel
) -> Reply | None:
    """[Send] or [Cancel] under a preview; None (a stale button) unless it is this admin's."""
    content = desk.content
    texts = content.ui[language].admin
    found = await desk.store.broadcasts.get(broadcast_id=action.broadcast_id)
    if found is None or found.admin_id != admin_id:
        return None
    # The preview without its buttons: what was confirmed stays readable in the chat.
    confirmed = screens.broadcast_message(content, language, found.text, keyboard=())
    cancelled = screens.notice(content, language, texts.broadcast_cancelled)
    if isinstance(action, cb.BroadcastCancel):
        if await desk.store.broadcasts.cancel(broadcast_id=found.id):
            await desk.store.audit.record(
                admin_id=admin_id, action="broadcast_cancel", detail=str(found.id)
            )
            return Reply((cancelled,), edit=True)
    else:
        started = await desk.store.broadcasts.start(
            broadcast_id=found.id, notice_version=content.privacy.introduced_in(ANNOUNCEMENTS)
        )
        if started is not None:
            await desk.store.audit.record(
                admin_id=admin_id, action="broadcast_send", detail=str(found.id)
            )
            notice = screens.broadcast_started(
                content,
                language,
                started,
                min_group=desk.min_group,
                every=desk.broadcast_report_every,
            )
            return Reply((confirmed, notice), edit=True)
    # A second press, or a press on a broadcast already decided: nothing new happens.
    if found.status == "cancelled":
        return Reply((cancelled,), edit=True, notice=texts.broadcast_cancelled)
    return Reply((confirmed,), edit=True, notice=texts.broadcast_already)
