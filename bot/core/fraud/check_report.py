"""The scam-message checker's section of /stats: how many messages were checked and how often
each red flag was found.

The counts hold no resident and no text, so they exist for everyone only, not per cohort. Any
count below ``MIN_GROUP_SIZE`` is withheld, as in the rest of the report.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.content import Content
from bot.core.i18n import Language


class CheckCounts(Protocol):
    """The checker's tallies (``bot.store.checker.CheckRecords``)."""

    async def counts(self) -> dict[str, int]: ...


async def check_report_lines(
    content: Content,
    checks: CheckCounts,
    language: Language,
    *,
    cohort_id: int | None,
    min_group: int,
) -> list[str]:
    """The section's lines (empty when the content has no red flags)."""
    flags = content.redflags
    if flags is None:
        return []
    texts = flags.texts[language]
    if cohort_id is not None:
        return ["", texts.stats_heading, texts.stats_not_per_cohort]
    counts = await checks.counts()
    hidden = content.ui[language].admin.hidden.format(k=min_group)

    def shown(count: int) -> str:
        return hidden if 0 < count < min_group else f"{count:,}"

    lines = [
        "",
        texts.stats_heading,
        texts.stats_checked.format(
            checked=shown(counts.get("checked", 0)), none=shown(counts.get("none", 0))
        ),
    ]
    for category in flags.categories:
        lines.append(
            texts.stats_line.format(flag=category.id, count=shown(counts.get(category.id, 0)))
        )
    return lines
