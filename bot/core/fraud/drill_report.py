"""The drills' section of /stats: accuracy per category, for everyone or one cohort.

Counts come from the ``DrillTallies`` port (``bot.store.reports.Reports``: one short query per
category); every figure about fewer than ``MIN_GROUP_SIZE`` residents is withheld, as in the rest
of the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.core.content import Content
from bot.core.fraud.drills import CategoryTally, category_figures, stats_lines
from bot.core.i18n import Language


class DrillTallies(Protocol):
    """The drills' answers counted per category, for everyone or one cohort's members."""

    async def drill_tallies(
        self, *, categories: Mapping[str, Sequence[str]], cohort_id: int | None
    ) -> dict[str, CategoryTally]: ...


async def drill_report_lines(
    content: Content,
    reports: DrillTallies,
    language: Language,
    *,
    cohort_id: int | None,
    min_group: int,
) -> list[str]:
    """The section's lines (empty when the content has no drills)."""
    book = content.drills
    if book is None:
        return []
    tallies = await reports.drill_tallies(categories=book.by_category(), cohort_id=cohort_id)
    return drill_lines(content, language, tallies, min_group=min_group)


def drill_lines(
    content: Content, language: Language, tallies: dict[str, CategoryTally], *, min_group: int
) -> list[str]:
    """The section for these tallies, every figure about fewer than ``min_group`` withheld."""
    figures = category_figures(tallies, min_group)
    hidden = content.ui[language].admin.hidden.format(k=min_group)
    return stats_lines(content, language, figures, hidden)
