"""/export [cohort]: the report's tables as CSV, and the answers themselves, pseudonymised.

Answer-level rows carry a keyed pseudonym, never the resident's id, and the ISO week, never the
day; a scope where fewer than k residents answered gets the (suppressed) tables only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Sequence

from bot.core.admin import screens
from bot.core.admin.common import Desk, report, view_scope
from bot.core.admin.ports import AnswerRecord, ExportTooLarge
from bot.core.i18n import Language
from bot.core.literacy import Cell, StatsReport
from bot.core.pseudonyms import EXPORT, pseudonym
from bot.core.replies import Document, Reply

# The answer-level export's columns: pseudonym, never the id; the ISO week, never the day.
ANSWER_COLUMNS = (
    "resident",
    "lesson_id",
    "question_id",
    "option_index",
    "option_id",
    "correct",
    "try_number",
    "answered_week",
)
# What a spreadsheet takes for the start of a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_csv_text(value: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a ' in front."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def iso_week(day: dt.date) -> str:
    """The ISO week of a day, e.g. 2026-W48: what answer-level exports say about when."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def export(desk: Desk, admin_id: int, language: Language, args: str) -> Reply:
    """/export [cohort]: the aggregate tables, then the answer rows in stored parts."""
    content = desk.content
    texts = content.ui[language].admin
    scope = await view_scope(desk, texts, args)
    if isinstance(scope, str):
        return Reply((screens.notice(content, language, scope),))
    cohort, scope_name = scope
    found = await report(desk, *scope)
    stamp = desk.clock().strftime("%Y%m%d")
    slug = cohort.code if cohort else "all"
    aggregates = Document(
        filename=f"finlit-stats-{slug}-{stamp}.csv",
        data=aggregate_csv(found),
        caption=texts.export_aggregates_caption.format(scope=scope_name, k=desk.min_group),
    )

    def tables_only(text: str) -> Reply:
        return Reply((screens.notice(content, language, text),), documents=(aggregates,))

    if desk.pseudonym_key is None:
        return tables_only(texts.export_needs_key)
    cohort_id = cohort.id if cohort else None
    if await desk.reports.answering_residents(cohort_id=cohort_id) < desk.min_group:
        # Answer-level rows about a handful of residents describe those residents, however
        # pseudonymous: the aggregate tables (suppressed) are all such a scope gets.
        return tables_only(texts.export_too_few.format(scope=scope_name, k=desk.min_group))
    writer = desk.store.exports.writer(
        chat_id=admin_id,
        stem=f"finlit-answers-{slug}-{stamp}",
        header=ANSWER_COLUMNS,
        part_bytes=desk.export_part_bytes,
        max_parts=desk.export_max_parts,
    )
    rows = answer_rows(desk.reports.answer_batches(cohort_id=cohort_id), desk.pseudonym_key)
    try:
        parts = await writer.write_rows(rows)
    except ExportTooLarge as too_large:
        return tables_only(
            texts.export_too_large.format(
                scope=scope_name,
                parts=too_large.parts,
                megabytes=too_large.part_bytes // (1024 * 1024),
            )
        )
    caption = texts.export_answers_caption.format(scope=scope_name)
    await writer.caption(
        lambda part, total: (
            caption
            if total == 1
            else texts.export_part.format(caption=caption, part=part, parts=total)
        )
    )
    return Reply(documents=(aggregates,), stored=tuple(parts))


def aggregate_csv(found: StatsReport) -> bytes:
    """The report's tables as CSV rows (section, item, measure, value); withheld as "<k", or
    "withheld" when a figure about k or more was hidden to protect a smaller one."""
    hidden = f"<{found.min_group}"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "measure", "value", "residents"])

    def put(section: str, item: str, measure: str, value: Cell) -> None:
        shown = (
            (hidden if value.n < found.min_group else "withheld")
            if value.hidden
            else (
                ""
                if value.value is None
                else f"{value.value:g}"
                if isinstance(value.value, float)
                else value.value
            )
        )
        # A withheld figure carries no number at all: with its n, a cell withheld only to
        # protect another (complementary suppression) could be worked out again.
        residents = (
            hidden if 0 < value.n < found.min_group else ("withheld" if value.hidden else value.n)
        )
        writer.writerow([safe_csv_text(section), safe_csv_text(item), measure, shown, residents])

    for measure in ("residents", "consented", "active_7d", "active_30d", "new_7d"):
        put("reach", found.scope, measure, getattr(found, measure))
    put("depth", found.scope, "median_lessons_per_active", found.median_lessons_per_active)
    for row in found.topics:
        for measure in (
            "started",
            "completed",
            "completion_rate",
            "first_try_accuracy",
            "latest_accuracy",
        ):
            put("topic", row.topic_id, measure, getattr(row, measure))
    for dim in found.dimensions:
        for measure in (
            "baseline_mean",
            "final_mean",
            "mean_gain",
            "mean_normalised_gain",
            "reached_target",
        ):
            put("assessment", dim.dimension, measure, getattr(dim, measure))
    put("assessment", "knowledge", "dont_know_rate", found.dont_know_rate)
    for question_id, groups in found.breakdowns.items():
        for group, figures in groups.items():
            put(f"by_{question_id}", group, "residents", figures.residents)
            put(f"by_{question_id}", group, "mean_lessons_done", figures.mean_lessons)
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read Chinese correctly


async def answer_rows(
    batches: AsyncIterator[Sequence[AnswerRecord]], key: bytes
) -> AsyncIterator[tuple[object, ...]]:
    """Every recorded answer in scope (ANSWER_COLUMNS), with a keyed pseudonym instead of the
    resident id and the week instead of the day."""
    # Each resident's pseudonym and each day's week are computed once, not once per answer.
    pseudonyms: dict[int, str] = {}
    weeks: dict[dt.date, str] = {}
    async for batch in batches:
        for resident_id, lesson_id, question_id, index, option_id, correct, tries, at in batch:
            resident = pseudonyms.get(resident_id)
            if resident is None:
                resident = pseudonyms[resident_id] = pseudonym(
                    resident_id=resident_id, key=key, family=EXPORT
                )
            day = at.date()
            week = weeks.get(day)
            if week is None:
                # The week, not the day: a day and a lecture's date single people out.
                week = weeks[day] = iso_week(day)
            yield (
                resident,
                safe_csv_text(lesson_id),
                safe_csv_text(question_id),
                index,
                safe_csv_text(option_id or ""),
                int(correct),
                tries,
                week,
            )
