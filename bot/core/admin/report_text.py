"""The /stats report and the /items rows as text in the administrator's language (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.admin.figures import Figures, short
from bot.core.admin.ports import NOT_GIVEN, ItemTally
from bot.core.content import Content
from bot.core.curriculum import Question
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.core.literacy import StatsReport
from bot.core.profile import DECLINED


def topic_title(content: Content, language: Language, topic_id: str) -> str:
    """A topic's title; its id when the content no longer has it."""
    topic = content.curriculum.topic(topic_id)
    return topic.title.get(language) if topic is not None else topic_id


def report_lines(
    content: Content, language: Language, report: StatsReport, *, min_group: int
) -> list[str]:
    """The report as plain text lines in the administrator's language."""
    ui = content.ui[language]
    texts = ui.admin
    shown = Figures(texts, min_group)
    lines = [texts.stats_title.format(scope=report.scope), "", texts.reach_heading]
    lines.append(
        texts.reach_line.format(
            residents=shown.count(report.residents),
            consented=shown.count(report.consented),
            active_7d=shown.count(report.active_7d),
            active_30d=shown.count(report.active_30d),
            new_7d=shown.count(report.new_7d),
        )
    )
    lines += ["", texts.depth_heading]
    for row in report.topics:
        lines.append(
            texts.depth_line.format(
                topic=topic_title(content, language, row.topic_id),
                started=shown.count(row.started),
                completed=shown.count(row.completed),
                rate=shown.share(row.completion_rate),
            )
        )
    lines.append(
        texts.median_line.format(median=shown.decimal(report.median_lessons_per_active, "g"))
    )
    lines += ["", texts.mastery_heading]
    for row in report.topics:
        lines.append(
            texts.mastery_line.format(
                topic=topic_title(content, language, row.topic_id),
                first=shown.share(row.first_try_accuracy),
                latest=shown.share(row.latest_accuracy),
            )
        )
    if report.hardest:
        lines += ["", texts.hardest_heading]
        for hard in report.hardest:
            question = content.curriculum.question(hard.question_id)
            prompt = question.prompt.get(language) if question else hard.question_id
            lines.append(
                texts.hardest_line.format(
                    question=short(visible_text(prompt), 40),
                    accuracy=f"{hard.latest_accuracy:.0%}",
                    residents=f"{hard.residents:,}",
                )
            )
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
                baseline=shown.share(dim.baseline_mean),
                final=shown.share(dim.final_mean),
                gain=shown.signed(dim.mean_gain),
                normalised=shown.share(dim.mean_normalised_gain),
                target=shown.share(dim.reached_target),
            )
        )
    lines.append(texts.dont_know_line.format(rate=shown.share(report.dont_know_rate)))
    for question_id, groups in report.breakdowns.items():
        heading = getattr(texts, f"breakdown_{question_id}", question_id)
        lines += ["", texts.breakdown_heading.format(question=heading)]
        for group, figures in groups.items():
            lines.append(
                texts.breakdown_line.format(
                    group=group_label(content, language, question_id, group),
                    residents=shown.count(figures.residents),
                    lessons=shown.decimal(figures.mean_lessons, ".1f"),
                )
            )
    lines += ["", texts.suppressed_note.format(k=min_group)]
    return lines


def group_label(content: Content, language: Language, question_id: str, group: str) -> str:
    """A breakdown group's name: the profile option's text, or "not given" / "no answer"."""
    texts = content.ui[language].admin
    if group == NOT_GIVEN:
        return texts.group_not_given
    if group == DECLINED:
        return texts.group_no_answer
    question = content.profile.question(question_id)
    option = question.option(group) if question else None
    return option.text.get(language) if option else group


def item_rows(
    content: Content,
    language: Language,
    questions: Sequence[Question],
    tallies: Mapping[str, ItemTally],
    *,
    min_group: int,
) -> list[dict[str, str]]:
    """Per question answered: residents who answered, first-try share right, the wrong option
    most chosen on a first try, and how many answers were retries (counted apart)."""
    texts = content.ui[language].admin
    hidden_text = Figures(texts, min_group).hidden
    rows = []
    for question in questions:
        total = tallies.get(question.id)
        if total is None:
            continue
        hidden = 0 < total.residents < min_group
        prompt = visible_text(question.prompt.get(language))
        # Counted by option id: residents see the options in different orders.
        wrong = [
            (count, index)
            for option_id, count in total.wrong_first_tries.items()
            if (index := question.option_index(option_id)) is not None
            and index != question.correct_index
        ]
        wrong_text = texts.none
        if wrong and not hidden:
            _, index = max(wrong)
            wrong_text = short(question.options[index].text.get(language), 30)
        rows.append(
            {
                "question": f"{question.id} {short(prompt, 30)}",
                "residents": hidden_text if hidden else f"{total.residents:,}",
                "right": hidden_text
                if hidden
                else f"{total.first_try_correct / total.residents:.0%}",
                "wrong": wrong_text if not hidden else hidden_text,
                "retries": hidden_text
                if hidden
                else f"{max(total.answers - total.residents, 0):,}",
            }
        )
    return rows
