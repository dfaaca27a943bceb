"""Administrators' desk: cohorts with join links, statistics, item analysis and exports.

Administrators are the ids in ADMIN_IDS. For anyone else these commands do not exist: the tutor
answers them exactly like any unknown command. Every action is written to the audit log.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import json
import re
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Sequence

import segno
import sqlalchemy as sa

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.checks import load_content
from bot.core.content import Content
from bot.core.curriculum import Question
from bot.core.fraud.check_report import check_report_lines
from bot.core.fraud.drill_report import drill_report_lines
from bot.core.html import visible_length, visible_text
from bot.core.i18n import Language
from bot.core.metrics import Cell, StatsReport, build_report, cell, suppress_partition
from bot.core.models import Broadcast, Cohort
from bot.core.profile import DECLINED
from bot.core.replies import Button, Document, Reply, Screen, StoredFile
from bot.core.ui import AdminTexts
from bot.pseudonyms import export_pseudonym
from bot.settings import Settings
from bot.store import Store
from bot.store.exports import MAX_PARTS, PART_BYTES, ExportTooLarge
from bot.store.schema import answers, cohort_members, scope_question_totals
from bot.store.stats import (
    NOT_GIVEN,
    answering_residents,
    cohort_overlap,
    first_try_wrong_options,
    scope_counts,
)

EXPORT_BATCH = 2000  # answers read from the database at a time

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

ADMIN_COMMANDS = ("cohort", "cohorts", "stats", "items", "export", "broadcast")
# Commands that only read (besides their audit line): a channel runs them outside any write
# transaction, so a long read at province scale never holds up residents' answers.
READ_ONLY_COMMANDS = frozenset({"cohorts", "stats", "items", "export"})
# Telegram's limit for a message, in UTF-16 code units of the visible text.
BROADCAST_LIMIT = 4096
# A cohort name in "/broadcast @<name> <text>" is at most this many words (names are 128 chars).
_MAX_NAME_WORDS = 16
_WORD = re.compile(r"\S+")
# Codes go in /start payloads (A-Z a-z 0-9 _ -, at most 64): 10 characters of base32 give
# 50 random bits, short enough to read aloud and far too many to guess.
_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10
# What a spreadsheet takes for the start of a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def new_cohort_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def safe_csv_text(value: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a ' in front."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def iso_week(day: dt.date) -> str:
    """The ISO week of a day, e.g. 2026-W48: what answer-level exports say about when."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=20, border=4)
    return buffer.getvalue()


@dataclasses.dataclass
class AdminDesk:
    content: Content
    store: Store
    admin_ids: frozenset[int]
    min_group: int = 5
    pseudonym_key: bytes | None = None
    # Where a cohort code becomes a link; the channel knows its bot's address.
    link_prefix: str = "https://t.me/finlit_bot?start="
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    # The broadcast worker reports progress to the administrator after this many deliveries.
    broadcast_report_every: int = 200
    # Answer-level exports: the size at which a part is closed, and how many parts at most.
    export_part_bytes: int = PART_BYTES
    export_max_parts: int = MAX_PARTS

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    async def handle(self, admin_id: int, language: Language, name: str, args: str) -> Reply:
        await self.store.audit(admin_id=admin_id, action=name, detail=args)
        texts = self.content.ui[language].admin
        match name:
            case "cohort":
                return await self._new_cohort(admin_id, language, texts, args)
            case "cohorts":
                return await self._cohorts(language, texts)
            case "stats":
                return await self._stats(language, texts, args)
            case "items":
                return await self._items(language, texts, args)
            case "broadcast":
                return await self._broadcast(admin_id, language, texts, args)
            case _:
                return await self._export(admin_id, language, texts, args)

    def _say(self, language: Language, text: str) -> Reply:
        return Reply((screens.plain_notice(self.content, language, text),))

    def _hidden(self, texts: AdminTexts) -> str:
        return texts.hidden.format(k=self.min_group)

    def _count(self, texts: AdminTexts, value: Cell) -> str:
        if value.hidden:
            return self._hidden(texts)
        return texts.none if value.value is None else f"{value.value:,}"

    def _size(self, texts: AdminTexts, count: int) -> str:
        """A count of residents: "<k" when it is about fewer than k of them (0 is shown)."""
        return self._count(texts, cell(count, count, self.min_group))

    def _share(self, texts: AdminTexts, value: Cell) -> str:
        if value.hidden:
            return self._hidden(texts)
        return texts.none if value.value is None else f"{float(value.value):.0%}"

    def _signed(self, texts: AdminTexts, value: Cell) -> str:
        if value.hidden:
            return self._hidden(texts)
        return texts.none if value.value is None else f"{float(value.value) * 100:+.0f}pp"

    # Broadcasts: /broadcast [@cohort] <text> -> preview with [Send] [Cancel] -> durable job

    def broadcast_message(
        self,
        language: Language,
        text: str,
        *,
        keyboard: tuple[tuple[Button, ...], ...] | None = None,
    ) -> Screen:
        """The announcement as a resident in ``language`` receives it (the text escaped)."""
        if keyboard is None:
            ui = self.content.ui[language]
            stop = cb.SetAnnouncements(on=False, edit=False)
            keyboard = ((Button.of(ui.btn_stop_announcements, stop),),)
        return Screen(self.content.render("broadcast.html.j2", language, text=text), keyboard)

    async def _broadcast_scope(self, rest: str) -> tuple[Cohort, str] | None:
        """The cohort named at the start of ``rest`` (longest name first) and the text after it."""
        words = list(_WORD.finditer(rest))[:_MAX_NAME_WORDS]
        for count in range(len(words), 0, -1):
            name = " ".join(w.group() for w in words[:count])
            cohort = await self.store.cohort(name=name) or await self.store.cohort(code=name)
            if cohort is not None:
                return cohort, rest[words[count - 1].end() :].strip()
        return None

    async def _broadcast(
        self, admin_id: int, language: Language, texts: AdminTexts, args: str
    ) -> Reply:
        text = args.strip()
        cohort: Cohort | None = None
        scope = texts.scope_all
        if text.startswith("@"):
            found = await self._broadcast_scope(text[1:])
            if found is None:
                name = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
                return self._say(language, texts.unknown_cohort.format(name=name))
            cohort, text = found
            scope = cohort.name
        if not text:
            return self._say(language, texts.broadcast_usage)
        message = self.broadcast_message(language, text, keyboard=())
        if visible_length(message.text) > BROADCAST_LIMIT:
            return self._say(language, texts.broadcast_too_long.format(limit=BROADCAST_LIMIT))
        cohort_id = cohort.id if cohort else None
        count = await self.store.broadcast_audience(cohort_id=cohort_id)
        if count == 0:
            return self._say(language, texts.broadcast_nobody.format(scope=scope))
        draft = await self.store.create_broadcast(admin_id=admin_id, cohort_id=cohort_id, text=text)
        buttons = (
            (
                Button.of(texts.btn_broadcast_send, cb.BroadcastSend(draft.id)),
                Button.of(texts.btn_broadcast_cancel, cb.BroadcastCancel(draft.id)),
            ),
        )
        preview = texts.broadcast_preview.format(scope=scope, count=self._size(texts, count))
        return Reply(
            (
                screens.plain_notice(self.content, language, preview),
                dataclasses.replace(message, keyboard=buttons),
            )
        )

    async def broadcast_press(
        self, admin_id: int, language: Language, action: cb.BroadcastSend | cb.BroadcastCancel
    ) -> Reply | None:
        """[Send] or [Cancel] under a preview; None (a stale button) unless it is this admin's."""
        texts = self.content.ui[language].admin
        draft = await self.store.get_broadcast(broadcast_id=action.broadcast_id)
        if draft is None or draft.admin_id != admin_id:
            return None
        # The preview without its buttons: what was confirmed stays readable in the chat.
        confirmed = self.broadcast_message(language, draft.text, keyboard=())
        cancelled = screens.plain_notice(self.content, language, texts.broadcast_cancelled)
        if isinstance(action, cb.BroadcastCancel):
            if await self.store.cancel_broadcast(broadcast_id=draft.id):
                await self.store.audit(
                    admin_id=admin_id, action="broadcast_cancel", detail=str(draft.id)
                )
                return Reply((cancelled,), edit=True)
        else:
            started = await self.store.start_broadcast(broadcast_id=draft.id)
            if started is not None:
                await self.store.audit(
                    admin_id=admin_id, action="broadcast_send", detail=str(draft.id)
                )
                text = texts.broadcast_started.format(
                    id=started.id,
                    count=self._size(texts, started.recipients),
                    every=self.broadcast_report_every,
                )
                started_notice = screens.plain_notice(self.content, language, text)
                return Reply((confirmed, started_notice), edit=True)
        # A second press, or a press on a broadcast already decided: nothing new happens.
        if draft.status == "cancelled":
            return Reply((cancelled,), edit=True, notice=texts.broadcast_cancelled)
        return Reply((confirmed,), edit=True, notice=texts.broadcast_already)

    def broadcast_report(self, language: Language, broadcast: Broadcast, *, final: bool) -> Reply:
        """Progress (sent / failed / blocked / remaining), or the final figures."""
        texts = self.content.ui[language].admin
        template = texts.broadcast_done if final else texts.broadcast_progress
        # The parts add up to the recipients: one part withheld alone could be worked out by
        # subtraction, so a second one is withheld with it (as for /stats breakdowns).
        parts = suppress_partition(
            {
                "sent": broadcast.sent,
                "failed": broadcast.failed,
                "blocked": broadcast.blocked,
                "skipped": broadcast.skipped,
                "remaining": broadcast.remaining,
            },
            self.min_group,
        )
        text = template.format(
            id=broadcast.id,
            recipients=self._size(texts, broadcast.recipients),
            **{name: self._count(texts, value) for name, value in parts.items()},
        )
        return self._say(language, text)

    async def _new_cohort(
        self, admin_id: int, language: Language, texts: AdminTexts, args: str
    ) -> Reply:
        verb, _, name = args.strip().partition(" ")
        name = " ".join(name.split())[:128]
        if verb != "new" or not name:
            return self._say(language, texts.cohort_usage)
        cohort = await self.store.create_cohort(
            code=new_cohort_code(), name=name, created_by=admin_id
        )
        link = self.link_prefix + cohort.code
        poster = Document(
            filename=f"cohort-{cohort.code}.png",
            data=qr_png(link),
            caption=texts.cohort_qr_caption.format(name=name),
        )
        return Reply(
            (
                screens.plain_notice(
                    self.content, language, texts.cohort_created.format(name=name, link=link)
                ),
            ),
            photos=(poster,),
        )

    async def _cohorts(self, language: Language, texts: AdminTexts) -> Reply:
        found = await self.store.cohorts()
        if not found:
            return self._say(language, texts.cohorts_empty)
        lines = [texts.cohorts_title]
        for cohort in found:
            size = cell(cohort.members, cohort.members, self.min_group)
            lines.append(
                texts.cohorts_line.format(
                    name=cohort.name, members=self._count(texts, size), code=cohort.code
                )
            )
        return self._say(language, "\n".join(lines))

    async def _scope(self, texts: AdminTexts, args: str) -> tuple[Cohort | None, str] | None:
        """The cohort named in ``args`` (None for everyone) and its display name."""
        name = " ".join(args.split())
        if not name:
            return None, texts.scope_all
        cohort = await self.store.cohort(name=name) or await self.store.cohort(code=name)
        return None if cohort is None else (cohort, cohort.name)

    async def view_scope(self, texts: AdminTexts, args: str) -> tuple[Cohort | None, str] | str:
        """The scope of a statistics view, or why it is refused (unknown, too small, too close)."""
        scope = await self._scope(texts, args)
        if scope is None:
            return texts.unknown_cohort.format(name=" ".join(args.split()))
        cohort, _ = scope
        if cohort is not None:
            refusal = await self._cohort_refusal(texts, cohort)
            if refusal is not None:
                return refusal
        return scope

    async def _cohort_refusal(self, texts: AdminTexts, cohort: Cohort) -> str | None:
        """Why figures about this cohort would single residents out, if they would.

        A cohort of fewer than k members is a handful of people. A cohort that differs from the
        whole population, or from another cohort, by fewer than k residents is as bad: subtract
        one view from the other and what remains describes those few (differencing).
        """
        k = self.min_group
        async with self.store.engine.connect() as conn:
            overlap = await cohort_overlap(conn, cohort.id)
        if overlap.members < k:
            return texts.cohort_too_small.format(name=cohort.name, k=k)
        if 0 < overlap.population - overlap.members < k:
            return texts.cohort_too_close.format(name=cohort.name, other=texts.scope_all, k=k)
        close = sorted(other for other, apart in overlap.differences.items() if 0 < apart < k)
        if close:
            names = {one.id: one.name for one in await self.store.cohorts()}
            other = names.get(close[0], "?")
            return texts.cohort_too_close.format(name=cohort.name, other=other, k=k)
        return None

    async def report(self, cohort: Cohort | None, scope_name: str) -> StatsReport:
        knowledge = sum(i.dimension == "knowledge" for i in self.content.assessment.items)
        async with self.store.engine.connect() as conn:
            counts = await scope_counts(
                conn, cohort.id if cohort else None, now=self.clock(), knowledge_items=knowledge
            )
        topic_lessons = {
            t.id: [lesson.id for lesson in t.lessons] for t in self.content.curriculum.topics
        }
        return build_report(scope_name, counts, topic_lessons, min_group=self.min_group)

    async def _stats(self, language: Language, texts: AdminTexts, args: str) -> Reply:
        scope = await self.view_scope(texts, args)
        if isinstance(scope, str):
            return self._say(language, scope)
        report = await self.report(*scope)
        lines = self.report_lines(language, report)
        # The spot-the-scam drills' accuracy per category (issue 16), before the closing note.
        lines[-2:-2] = await drill_report_lines(self, language, scope[0])
        # The scam-message checker's counts (issue 16), likewise.
        lines[-2:-2] = await check_report_lines(self, language, scope[0])
        text = "\n".join(lines)
        chart = await asyncio.to_thread(self._chart, language, report)
        return Reply((screens.plain_notice(self.content, language, text),), photos=(chart,))

    def report_lines(self, language: Language, report: StatsReport) -> list[str]:
        """The report as plain text lines in the administrator's language."""
        texts = self.content.ui[language].admin
        curriculum = self.content.curriculum
        lines = [texts.stats_title.format(scope=report.scope), "", texts.reach_heading]
        lines.append(
            texts.reach_line.format(
                residents=self._count(texts, report.residents),
                consented=self._count(texts, report.consented),
                active_7d=self._count(texts, report.active_7d),
                active_30d=self._count(texts, report.active_30d),
                new_7d=self._count(texts, report.new_7d),
            )
        )
        lines += ["", texts.depth_heading]
        for row in report.topics:
            title = curriculum.topic(row.topic_id).title.get(language)  # type: ignore[union-attr]
            lines.append(
                texts.depth_line.format(
                    topic=title,
                    started=self._count(texts, row.started),
                    completed=self._count(texts, row.completed),
                    rate=self._share(texts, row.completion_rate),
                )
            )
        median = report.median_lessons_per_active
        lines.append(
            texts.median_line.format(
                median=self._hidden(texts)
                if median.hidden
                else (texts.none if median.value is None else f"{median.value:g}")
            )
        )
        lines += ["", texts.mastery_heading]
        for row in report.topics:
            title = curriculum.topic(row.topic_id).title.get(language)  # type: ignore[union-attr]
            lines.append(
                texts.mastery_line.format(
                    topic=title,
                    first=self._share(texts, row.first_try_accuracy),
                    latest=self._share(texts, row.latest_accuracy),
                )
            )
        if report.hardest:
            lines += ["", texts.hardest_heading]
            for hard in report.hardest:
                question = curriculum.question(hard.question_id)
                prompt = question.prompt.get(language) if question else hard.question_id
                lines.append(
                    texts.hardest_line.format(
                        question=_short(visible_text(prompt), 40),
                        accuracy=f"{hard.latest_accuracy:.0%}",
                        residents=f"{hard.residents:,}",
                    )
                )
        ui = self.content.ui[language]
        names = {
            "knowledge": ui.checkup_dimension_knowledge,
            "behaviour": ui.checkup_dimension_behaviour,
            "attitude": ui.checkup_dimension_attitude,
        }
        lines += ["", texts.assessment_heading]
        for dim in report.dimensions:
            lines.append(
                texts.assessment_line.format(
                    dimension=names[dim.dimension],
                    baseline=self._share(texts, dim.baseline_mean),
                    final=self._share(texts, dim.final_mean),
                    gain=self._signed(texts, dim.mean_gain),
                    normalised=self._share(texts, dim.mean_normalised_gain),
                    target=self._share(texts, dim.reached_target),
                )
            )
        lines.append(texts.dont_know_line.format(rate=self._share(texts, report.dont_know_rate)))
        for question_id, groups in report.breakdowns.items():
            heading = getattr(texts, f"breakdown_{question_id}", question_id)
            lines += ["", texts.breakdown_heading.format(question=heading)]
            for group, figures in groups.items():
                lines.append(
                    texts.breakdown_line.format(
                        group=self.group_label(language, question_id, group),
                        residents=self._count(texts, figures.residents),
                        lessons=self._hidden(texts)
                        if figures.mean_lessons.hidden
                        else (
                            texts.none
                            if figures.mean_lessons.value is None
                            else f"{figures.mean_lessons.value:.1f}"
                        ),
                    )
                )
        lines += ["", texts.suppressed_note.format(k=self.min_group)]
        return lines

    def group_label(self, language: Language, question_id: str, group: str) -> str:
        texts = self.content.ui[language].admin
        if group == NOT_GIVEN:
            return texts.group_not_given
        if group == DECLINED:
            return texts.group_no_answer
        question = self.content.profile.question(question_id)
        option = question.option(group) if question else None
        return option.text.get(language) if option else group

    def _chart(self, language: Language, report: StatsReport) -> Document:
        from bot.charts import BarSeries, topic_chart  # matplotlib is slow to import

        texts = self.content.ui[language].admin
        titles = [
            self.content.curriculum.topic(row.topic_id).title.get(language)  # type: ignore[union-attr]
            for row in report.topics
        ]
        png = topic_chart(
            title=texts.chart_title.format(scope=report.scope),
            categories=titles,
            series=[
                BarSeries(
                    texts.chart_first_try, [_value(r.first_try_accuracy) for r in report.topics]
                ),
                BarSeries(texts.chart_latest, [_value(r.latest_accuracy) for r in report.topics]),
            ],
            hidden_label=self._hidden(texts),
            axis_label=texts.chart_axis,
        )
        return Document("stats.png", png, texts.chart_caption.format(scope=report.scope))

    async def _items(self, language: Language, texts: AdminTexts, args: str) -> Reply:
        topic_id = args.strip()
        curriculum = self.content.curriculum
        topics = curriculum.topics
        if topic_id:
            topic = curriculum.topic(topic_id)
            if topic is None:
                codes = ", ".join(t.id for t in topics)
                return self._say(language, texts.unknown_topic.format(topics=codes))
            topics = (topic,)
        rows = await self.item_rows(
            language, [q for t in topics for lsn in t.lessons for q in lsn.quiz]
        )
        heading = texts.items_title.format(
            topic=f" · {topics[0].title.get(language)}" if topic_id else ""
        )
        if not rows:
            return self._say(language, f"{heading}\n{texts.items_none}")
        lines = [heading]
        for row in rows:
            lines.append(texts.items_line.format(**row))
        # Item analysis can be long: one message per 30 questions keeps each within limits.
        chunks = [lines[i : i + 30] for i in range(0, len(lines), 30)]
        return Reply(
            tuple(screens.plain_notice(self.content, language, "\n".join(c)) for c in chunks)
        )

    async def item_rows(
        self, language: Language, questions: Sequence[Question]
    ) -> list[dict[str, str]]:
        """Per question: residents who answered, first-try share right, the wrong option most
        chosen on a first try, and how many answers were retries (counted apart)."""
        texts = self.content.ui[language].admin
        ids = [q.id for q in questions]
        qt = scope_question_totals
        async with self.store.engine.connect() as conn:
            totals = {
                row.question_id: row
                for row in await conn.execute(
                    sa.select(qt).where(qt.c.scope_id == 0, qt.c.question_id.in_(ids))
                )
            }
            # First tries only: a resident retrying a question many times must not make their
            # wrong choices look like everyone's.
            chosen = await first_try_wrong_options(conn, ids)
        rows = []
        for question in questions:
            total = totals.get(question.id)
            if total is None:
                continue
            hidden = 0 < total.residents < self.min_group
            prompt = visible_text(question.prompt.get(language))
            # Counted by option id: residents see the options in different orders.
            wrong = [
                (count, index)
                for option_id, count in chosen.get(question.id, {}).items()
                if (index := question.option_index(option_id)) is not None
                and index != question.correct_index
            ]
            wrong_text = texts.none
            if wrong and not hidden:
                _, index = max(wrong)
                wrong_text = _short(question.options[index].text.get(language), 30)
            rows.append(
                {
                    "question": f"{question.id} {_short(prompt, 30)}",
                    "residents": self._hidden(texts) if hidden else f"{total.residents:,}",
                    "right": self._hidden(texts)
                    if hidden
                    else f"{total.first_try_correct / total.residents:.0%}",
                    "wrong": wrong_text if not hidden else self._hidden(texts),
                    "retries": self._hidden(texts)
                    if hidden
                    else f"{max(total.answers - total.residents, 0):,}",
                }
            )
        return rows

    async def _export(
        self, admin_id: int, language: Language, texts: AdminTexts, args: str
    ) -> Reply:
        scope = await self.view_scope(texts, args)
        if isinstance(scope, str):
            return self._say(language, scope)
        cohort, scope_name = scope
        report = await self.report(cohort, scope_name)
        stamp = self.clock().strftime("%Y%m%d")
        slug = cohort.code if cohort else "all"
        aggregates = Document(
            filename=f"finlit-stats-{slug}-{stamp}.csv",
            data=self.aggregate_csv(language, report),
            caption=texts.export_aggregates_caption.format(scope=scope_name, k=self.min_group),
        )
        if self.pseudonym_key is None:
            return Reply(
                (screens.plain_notice(self.content, language, texts.export_needs_key),),
                documents=(aggregates,),
            )
        async with self.store.engine.connect() as conn:
            answering = await answering_residents(conn, cohort.id if cohort else None)
        if answering < self.min_group:
            # Answer-level rows about a handful of residents describe those residents, however
            # pseudonymous: the aggregate tables (suppressed) are all such a scope gets.
            refusal = texts.export_too_few.format(scope=scope_name, k=self.min_group)
            return Reply(
                (screens.plain_notice(self.content, language, refusal),),
                documents=(aggregates,),
            )
        writer = self.store.exports.writer(
            chat_id=admin_id,
            stem=f"finlit-answers-{slug}-{stamp}",
            header=ANSWER_COLUMNS,
            part_bytes=self.export_part_bytes,
            max_parts=self.export_max_parts,
        )
        try:
            parts = await writer.write_rows(self.answer_rows(cohort, self.pseudonym_key))
        except ExportTooLarge as too_large:
            refusal = texts.export_too_large.format(
                scope=scope_name,
                parts=too_large.parts,
                megabytes=too_large.part_bytes // (1024 * 1024),
            )
            return Reply(
                (screens.plain_notice(self.content, language, refusal),),
                documents=(aggregates,),
            )
        caption = texts.export_answers_caption.format(scope=scope_name)
        await writer.caption(
            lambda part, total: (
                caption
                if total == 1
                else texts.export_part.format(caption=caption, part=part, parts=total)
            )
        )
        return Reply(
            documents=(aggregates,),
            stored=tuple(StoredFile(p.export_id, p.part, p.filename, p.size) for p in parts),
        )

    def aggregate_csv(self, language: Language, report: StatsReport) -> bytes:
        """The report's tables as CSV rows (section, item, measure, value); withheld as "<k"."""
        hidden = f"<{report.min_group}"
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["section", "item", "measure", "value", "residents"])

        def put(section: str, item: str, measure: str, value: Cell) -> None:
            shown = (
                hidden
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
            residents = hidden if value.hidden or 0 < value.n < report.min_group else value.n
            writer.writerow(
                [safe_csv_text(section), safe_csv_text(item), measure, shown, residents]
            )

        for measure in ("residents", "consented", "active_7d", "active_30d", "new_7d"):
            put("reach", report.scope, measure, getattr(report, measure))
        put("depth", report.scope, "median_lessons_per_active", report.median_lessons_per_active)
        for row in report.topics:
            for measure in (
                "started",
                "completed",
                "completion_rate",
                "first_try_accuracy",
                "latest_accuracy",
            ):
                put("topic", row.topic_id, measure, getattr(row, measure))
        for dim in report.dimensions:
            for measure in (
                "baseline_mean",
                "final_mean",
                "mean_gain",
                "mean_normalised_gain",
                "reached_target",
            ):
                put("assessment", dim.dimension, measure, getattr(dim, measure))
        put("assessment", "knowledge", "dont_know_rate", report.dont_know_rate)
        for question_id, groups in report.breakdowns.items():
            for group, figures in groups.items():
                put(f"by_{question_id}", group, "residents", figures.residents)
                put(f"by_{question_id}", group, "mean_lessons_done", figures.mean_lessons)
        return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read Chinese correctly

    async def answer_rows(
        self, cohort: Cohort | None, key: bytes
    ) -> AsyncIterator[tuple[object, ...]]:
        """Every recorded answer in scope (ANSWER_COLUMNS), with a keyed pseudonym instead of
        the resident id and the week instead of the day, streamed from a read connection."""
        query = sa.select(
            answers.c.resident_id,
            answers.c.lesson_id,
            answers.c.question_id,
            answers.c.option_index,
            answers.c.option_id,
            answers.c.correct,
            answers.c.try_number,
            answers.c.answered_at,
        ).order_by(answers.c.id)
        if cohort is not None:
            members = sa.select(cohort_members.c.resident_id).where(
                cohort_members.c.cohort_id == cohort.id
            )
            query = query.where(answers.c.resident_id.in_(members))
        # Each resident's pseudonym and each day's week are computed once, not once per answer.
        pseudonyms: dict[int, str] = {}
        weeks: dict[dt.date, str] = {}
        async with self.store.engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=EXPORT_BATCH))
            # A batch per await: fetching row by row costs an await (a thread hop) per answer.
            async for batch in result.partitions():
                for row in batch:
                    pseudonym = pseudonyms.get(row.resident_id)
                    if pseudonym is None:
                        pseudonym = pseudonyms[row.resident_id] = export_pseudonym(
                            key, row.resident_id
                        )
                    day = row.answered_at.date()
                    week = weeks.get(day)
                    if week is None:
                        # The week, not the day: a day and a lecture's date single people out.
                        week = weeks[day] = iso_week(day)
                    yield (
                        pseudonym,
                        safe_csv_text(row.lesson_id),
                        safe_csv_text(row.question_id),
                        row.option_index,
                        safe_csv_text(row.option_id or ""),
                        int(row.correct),
                        row.try_number,
                        week,
                    )


def _value(value: Cell) -> float | None:
    return None if value.hidden or value.value is None else float(value.value)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def admin_desk(
    settings: Settings, content: Content, store: Store, *, username: str | None
) -> AdminDesk:
    """The administrators' desk, with cohort links pointing at this bot."""
    key = settings.pseudonym_key
    return AdminDesk(
        content=content,
        store=store,
        admin_ids=settings.admin_ids,
        min_group=settings.min_group_size,
        pseudonym_key=key.get_secret_value().encode() if key else None,
        link_prefix=f"https://t.me/{username or settings.bot_username or 'finlit_bot'}?start=",
    )


async def print_stats(
    settings: Settings, *, cohort: str | None, output: str, language: Language
) -> int:
    """``finlit stats``: the same report as /stats, on standard output."""
    content = load_content(settings.content_dir)
    store = await Store.open(settings.database_url)
    try:
        desk = admin_desk(settings, content, store, username=settings.bot_username)
        texts = content.ui[language].admin
        scope = await desk.view_scope(texts, cohort or "")
        if isinstance(scope, str):
            print(scope, file=sys.stderr)
            return 1
        report = await desk.report(*scope)
        if output == "json":
            print(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=2))
        elif output == "csv":
            sys.stdout.write(desk.aggregate_csv(language, report).decode("utf-8-sig"))
        else:
            print("\n".join(desk.report_lines(language, report)))
        return 0
    finally:
        await store.close()
