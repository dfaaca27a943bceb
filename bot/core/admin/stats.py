"""/stats [cohort]: the literacy report as text with a chart, and ``finlit stats`` (its output)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Literal

from bot.core.admin import screens
from bot.core.admin.common import Desk, report, view_scope
from bot.core.admin.export import aggregate_csv
from bot.core.admin.figures import Figures, shown_share
from bot.core.admin.ports import BarSeries
from bot.core.admin.report_text import report_lines, topic_title
from bot.core.ask.report import ask_report_lines
from bot.core.fraud.check_report import check_report_lines
from bot.core.fraud.drill_report import drill_report_lines
from bot.core.i18n import Language
from bot.core.literacy import StatsReport
from bot.core.replies import Document, Reply

Output = Literal["text", "json", "csv"]


async def show_stats(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/stats [cohort]: the report, the drills' and the checker's sections, typed questions'
    counts, and a chart."""
    texts = desk.content.ui[language].admin
    scope = await view_scope(desk, texts, args)
    if isinstance(scope, str):
        return Reply((screens.notice(desk.content, language, scope),))
    found = await report(desk, *scope)
    lines = report_lines(desk.content, language, found, min_group=desk.min_group)
    cohort_id = scope[0].id if scope[0] else None
    # The spot-the-scam drills' accuracy per category (issue 16), before the closing note.
    lines[-2:-2] = await drill_report_lines(
        desk.content, desk.reports, language, cohort_id=cohort_id, min_group=desk.min_group
    )
    # The scam-message checker's counts (issue 16), likewise.
    lines[-2:-2] = await check_report_lines(
        desk.content, desk.store.checks, language, cohort_id=cohort_id, min_group=desk.min_group
    )
    # Typed questions' counts (issue 17): a message of their own, after the report.
    asked = await ask_report_lines(
        desk.content, desk.store.asks, language, cohort_id=cohort_id, min_group=desk.min_group
    )
    # Drawing takes a while: off the event loop, so residents' updates go on meanwhile.
    chart = await asyncio.to_thread(chart_document, desk, language, found)
    pages = (
        screens.stats_page(desk.content, language, lines),
        screens.stats_page(desk.content, language, asked),
    )
    return Reply(pages, photos=(chart,))


def chart_document(desk: Desk, language: Language, found: StatsReport) -> Document:
    """First-try and latest accuracy per topic as a bar chart."""
    texts = desk.content.ui[language].admin
    png = desk.pictures.topic_chart(
        title=texts.chart_title.format(scope=found.scope),
        categories=[topic_title(desk.content, language, row.topic_id) for row in found.topics],
        series=[
            BarSeries(
                texts.chart_first_try, [shown_share(r.first_try_accuracy) for r in found.topics]
            ),
            BarSeries(texts.chart_latest, [shown_share(r.latest_accuracy) for r in found.topics]),
        ],
        hidden_label=Figures(texts, desk.min_group).hidden,
        axis_label=texts.chart_axis,
    )
    return Document("stats.png", png, texts.chart_caption.format(scope=found.scope))


@dataclasses.dataclass(frozen=True)
class Refused:
    """Why a scope gets no figures (for standard error)."""

    reason: str


async def stats_output(
    desk: Desk, language: Language, cohort: str, output: Output
) -> str | Refused:
    """``finlit stats``: the same report as /stats, as text, JSON or CSV."""
    texts = desk.content.ui[language].admin
    scope = await view_scope(desk, texts, cohort)
    if isinstance(scope, str):
        return Refused(scope)
    found = await report(desk, *scope)
    if output == "json":
        return json.dumps(dataclasses.asdict(found), ensure_ascii=False, indent=2) + "\n"
    if output == "csv":
        return aggregate_csv(found).decode("utf-8-sig")
    return "\n".join(report_lines(desk.content, language, found, min_group=desk.min_group)) + "\n"
