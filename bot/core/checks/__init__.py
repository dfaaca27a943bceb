"""Checks across the whole content: ids, languages, lengths, HTML, and every rendered screen.

``load_content`` is how content is loaded to be served: parsed (``bot.core.content``), then
checked here. The checks import the content and the screens, never the other way round.
"""

from __future__ import annotations

from pathlib import Path

from bot.core.checks.ask import check_ask
from bot.core.checks.ask_screens import check_after_fraud
from bot.core.checks.fraud import check_fraud_tools, fraud_tool_warnings
from bot.core.checks.labels import label_warnings
from bot.core.checks.published import check_checkup_mapping, check_stored_ids
from bot.core.checks.render import check_screens
from bot.core.checks.sources import check_question_sources, source_counts
from bot.core.checks.texts import (
    LENGTH_CUE_LIMIT,
    LENGTH_CUE_MIN_QUESTIONS,
    check_texts,
    length_cues,
    reading_length,
    review_warnings,
)
from bot.core.consent import GATES
from bot.core.content import Content, ContentError, Problem, parse_content

__all__ = [
    "LENGTH_CUE_LIMIT",
    "LENGTH_CUE_MIN_QUESTIONS",
    "check_checkup_mapping",
    "check_content",
    "fraud_tool_warnings",
    "label_warnings",
    "length_cues",
    "load_content",
    "reading_length",
    "review_warnings",
    "source_counts",
]


def load_content(root: Path) -> Content:
    """Load and fully check the content directory; raise ContentError listing every problem."""
    content = parse_content(root)
    problems = check_content(content)
    if problems:
        raise ContentError(problems)
    return content


def check_privacy_gates(content: Content) -> list[Problem]:
    """Every kind of processing the bot asks the gate about is added by a notice version."""
    named = {p.id for version in content.privacy.versions for p in version.adds}
    return [
        Problem("privacy.yaml", "versions", f"no version adds '{gate}', which the bot asks about")
        for gate in GATES
        if gate not in named
    ]


def check_content(content: Content) -> list[Problem]:
    """Every problem of parsed content; the screens are rendered only when nothing else is
    wrong (rendering is only meaningful on otherwise sound content)."""
    problems = [
        *check_texts(content),
        *check_question_sources(content),
        *check_stored_ids(content),
        *check_fraud_tools(content),
        *check_privacy_gates(content),
    ]
    problems += check_after_fraud(content)
    problems += check_ask(content)
    if not problems:
        problems += check_screens(content)
    return problems
