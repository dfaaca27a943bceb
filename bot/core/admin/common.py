"""What every feature of the desk works with: its ports, its settings, and the scope of a view."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from bot.core.admin.ports import MAX_PARTS, PART_BYTES, AdminStore, Pictures, Reports
from bot.core.content import Content
from bot.core.literacy import StatsReport, build_report
from bot.core.models import Cohort
from bot.core.ui import AdminTexts

DEFAULT_BOT = "finlit_bot"


def bot_link_prefix(username: str | None) -> str:
    """Where a cohort code becomes a link: the bot's t.me address, a start payload to follow."""
    return f"https://t.me/{username or DEFAULT_BOT}?start="


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class Desk:
    """The desk's ports and settings, as plain values (the channel's wiring fills them in)."""

    content: Content
    store: AdminStore
    reports: Reports
    pictures: Pictures
    admin_ids: frozenset[int]
    min_group: int = 5
    pseudonym_key: bytes | None = None
    # Where a cohort code becomes a link; the channel knows its bot's address.
    link_prefix: str = bot_link_prefix(None)
    clock: Callable[[], dt.datetime] = utc_now
    # The broadcast worker reports progress to the administrator after this many deliveries.
    broadcast_report_every: int = 200
    # Answer-level exports: the size at which a part is closed, and how many parts at most.
    export_part_bytes: int = PART_BYTES
    export_max_parts: int = MAX_PARTS

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


# A view's scope: the cohort (None for everyone) and the name the administrator reads.
Scope = tuple[Cohort | None, str]


async def view_scope(desk: Desk, texts: AdminTexts, args: str) -> Scope | str:
    """The scope of a statistics view, or why it is refused (unknown, too small, too close)."""
    name = " ".join(args.split())
    if not name:
        return None, texts.scope_all
    cohort = await desk.store.cohorts.find(name=name) or await desk.store.cohorts.find(code=name)
    if cohort is None:
        return texts.unknown_cohort.format(name=name)
    refusal = await _cohort_refusal(desk, texts, cohort)
    return (cohort, cohort.name) if refusal is None else refusal


async def _cohort_refusal(desk: Desk, texts: AdminTexts, cohort: Cohort) -> str | None:
    """Why figures about this cohort would single residents out, if they would.

    A cohort of fewer than k members is a handful of people. A cohort that differs from the
    whole population, or from another cohort, by fewer than k residents is as bad: subtract
    one view from the other and what remains describes those few (differencing).
    """
    k = desk.min_group
    overlap = await desk.reports.cohort_overlap(cohort_id=cohort.id)
    if overlap.members < k:
        return texts.cohort_too_small.format(name=cohort.name, k=k)
    if 0 < overlap.population - overlap.members < k:
        return texts.cohort_too_close.format(name=cohort.name, other=texts.scope_all, k=k)
    close = sorted(other for other, apart in overlap.differences.items() if 0 < apart < k)
    if close:
        names = {one.id: one.name for one in await desk.store.cohorts.all()}
        other = names.get(close[0], "?")
        return texts.cohort_too_close.format(name=cohort.name, other=other, k=k)
    return None


async def report(desk: Desk, cohort: Cohort | None, scope_name: str) -> StatsReport:
    """The report for a scope, every figure about fewer than k residents withheld."""
    content = desk.content
    knowledge = sum(i.dimension == "knowledge" for i in content.assessment.items)
    counts = await desk.reports.scope_counts(
        cohort_id=cohort.id if cohort else None, now=desk.clock(), knowledge_items=knowledge
    )
    topic_lessons = {t.id: [lesson.id for lesson in t.lessons] for t in content.curriculum.topics}
    return build_report(scope_name, counts, topic_lessons, min_group=desk.min_group)
