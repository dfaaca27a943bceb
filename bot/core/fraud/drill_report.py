"""The drills' section of /stats: accuracy per category, for everyone or one cohort.

Counts come from ``bot.store.fraud_tools.category_tallies`` (one short query per category);
every figure about fewer than ``MIN_GROUP_SIZE`` residents is withheld, as in the rest of the
report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.fraud.drills import category_figures, stats_lines
from bot.core.i18n import Language
from bot.store.fraud_tools import category_tallies

if TYPE_CHECKING:
    from bot.core.admin import AdminDesk
    from bot.core.models import Cohort


async def drill_report_lines(
    desk: AdminDesk, language: Language, cohort: Cohort | None
) -> list[str]:
    """The section's lines (empty when the content has no drills)."""
    book = desk.content.drills
    if book is None:
        return []
    async with desk.store.engine.connect() as conn:
        tallies = await category_tallies(conn, book.by_category(), cohort.id if cohort else None)
    figures = category_figures(tallies, desk.min_group)
    hidden = desk.content.ui[language].admin.hidden.format(k=desk.min_group)
    return stats_lines(desk.content, language, figures, hidden)
