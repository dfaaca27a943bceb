"""The "ask in your own words" section of /stats: typed questions asked, answered with a lesson
(per topic of the best one), found nothing, given urgent advice; the 🚨 button; lessons opened.

The counts hold no resident and no text, so they exist for everyone only, not per cohort. Any
count below ``MIN_GROUP_SIZE`` is withheld, and so is one that the others would give away (a
total and all but one of its parts: ``literacy.suppress_partition``). The section is a message
of its own after the report (the report alone comes close to Telegram's length limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.core.ask.desk import ASKED, BUTTON, LESSON, NOTHING, OPENED, TOPIC, URGENT
from bot.core.content import Content
from bot.core.i18n import Language
from bot.core.literacy import suppress_partition


class AskCounts(Protocol):
    """The tallies (``bot.store.asked.AskRecords``)."""

    async def counts(self) -> dict[str, int]: ...


async def ask_report_lines(
    content: Content,
    asks: AskCounts,
    language: Language,
    *,
    cohort_id: int | None,
    min_group: int,
) -> list[str]:
    """The section's lines: everyone's counts, or the note that they are not per cohort."""
    counts = None if cohort_id is not None else await asks.counts()
    return ask_lines(content, language, counts, min_group=min_group)


def ask_lines(
    content: Content, language: Language, counts: Mapping[str, int] | None, *, min_group: int
) -> list[str]:
    """The section for everyone's ``counts``, or (None) the note that it is not per cohort."""
    texts = content.ui[language].admin
    if counts is None:
        return [texts.ask_heading, texts.ask_not_per_cohort]
    hidden_mark = texts.hidden.format(k=min_group)
    # One partition of the texts asked: nothing found, urgent, or a lesson of each topic (the
    # lessons' count is the topics' sum, withheld when any of them is).
    topics = [TOPIC + t.id for t in content.curriculum.topics]
    cells = suppress_partition(
        {key: counts.get(key, 0) for key in (NOTHING, URGENT, *topics)}, min_group
    )
    hidden = {key for key, c in cells.items() if c.hidden}
    if hidden & set(topics):
        hidden.add(LESSON)

    def shown(key: str) -> str:
        count = counts.get(key, 0)
        return hidden_mark if key in hidden or 0 < count < min_group else f"{count:,}"

    lines = [
        texts.ask_heading,
        texts.ask_asked_line.format(
            asked=shown(ASKED), lesson=shown(LESSON), nothing=shown(NOTHING), opened=shown(OPENED)
        ),
        texts.ask_urgent_line.format(urgent=shown(URGENT), button=shown(BUTTON)),
    ]
    for topic in content.curriculum.topics:
        if counts.get(TOPIC + topic.id, 0):
            lines.append(
                texts.ask_topic_line.format(
                    topic=topic.title.get(language), count=shown(TOPIC + topic.id)
                )
            )
    return lines
