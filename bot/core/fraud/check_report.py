"""The scam-message checker's section of /stats: how many messages were checked and how often
each red flag was found.

The counts hold no resident and no text, so they exist for everyone only, not per cohort. Any
count below ``MIN_GROUP_SIZE`` is withheld, as in the rest of the report.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    if content.redflags is None:
        return []
    counts = None if cohort_id is not None else await checks.counts()
    return check_lines(content, language, counts, min_group=min_group)


def check_lines(
    content: Content, language: Language, counts: Mapping[str, int] | None, *, min_group: int
) -> list[str]:
    """The section for everyone's ``counts``, or (None) the note that it is not per cohort."""
    flags = content.redflags
    if flags is None:
        return []
    texts = flags.texts[language]
    if counts is None:
        return ["", texts.stats_heading, texts.stats_not_per_cohort]
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
