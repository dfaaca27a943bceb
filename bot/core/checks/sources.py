"""Who says so, question by question: each explanation names the sources it rests on, and one
that names none states no figure or rule of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.core.content import Content, Problem
from bot.core.curriculum import Question
from bot.core.i18n import LANGUAGES, Language

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_OPERATORS = "×÷=≈＝−－"  # a sum written out: 72 ÷ 6 = 12, 3% − 2% ≈ 1%
# What an official body says: a law, a rule, a court, a regulator or ministry, a dated event.
_RULE: dict[Language, re.Pattern[str]] = {
    "zh": re.compile(
        r"《|法律|法规|条例|法院|第[一二三四五六七八九十百\d]+条|人民银行|央行|金融监管总局|公安部|国务院"
    ),
    "en": re.compile(
        r"\b(?:laws?|regulations?|Article|Art\.|courts?|Civil Code|ministry|PBOC|NFRA|MPS|"
        r"State Council)\b",
        re.IGNORECASE,
    ),
}


def check_question_sources(content: Content) -> list[Problem]:
    """Every question of a lesson with several sources says which (or "none"), and a question
    with no source states no figure or rule that is not given in the question itself."""
    problems = []
    for topic, lesson in content.curriculum.lessons():
        file = content.topic_files[topic.id]
        for question in lesson.quiz:
            at = f"lessons[{lesson.id}].quiz[{question.id}]"
            if question.sources == () and len(lesson.sources) > 1:
                problems.append(
                    Problem(
                        file,
                        f"{at}.sources",
                        f"the lesson has {len(lesson.sources)} sources: name the ones the "
                        "explanation rests on, or say 'none' for reasoning or plain advice",
                    )
                )
            if not lesson.sources_of(question):
                problems += [
                    Problem(file, f"{at}.explanation.{language}", claim)
                    for language, claim in unsourced_claims(question)
                ]
    return problems


def source_counts(content: Content) -> dict[str, int]:
    """How the questions' "Who says so?" is settled: named, "none", or the lesson's only one."""
    counts = {"named": 0, "none": 0, "lesson_one": 0, "no_source": 0}
    for _, lesson in content.curriculum.lessons():
        for question in lesson.quiz:
            if question.sources == "none":
                counts["none"] += 1
            elif question.sources:
                counts["named"] += 1
            elif lesson.sources:
                counts["lesson_one"] += 1
            else:
                counts["no_source"] += 1
    return counts


def unsourced_claims(question: Question) -> Iterator[tuple[Language, str]]:
    """What an explanation with no source states on its own: a rule or a figure the question
    does not give (a figure worked out in the explanation, next to × ÷ = ≈, is reasoning)."""
    for language in LANGUAGES:
        explanation = question.explanation.get(language)
        rule = _RULE[language].search(explanation)
        if rule:
            yield (
                language,
                f"states a rule ('{rule.group()}') but names no source: name the lesson's "
                "source it rests on, or rephrase it as advice",
            )
        given = {
            _value(n)
            for text in (question.prompt, *(o.text for o in question.options))
            for n in _NUMBER.findall(text.get(language))
        }
        new = sorted(_figures(explanation) - given - _worked_out(explanation))
        if new:
            yield (
                language,
                f"states a figure the question does not give ({', '.join(new)}) but names no "
                "source: name the source, show the sum, or leave the figure out",
            )


def _value(number: str) -> str:
    return number.replace(",", "")


def _figures(text: str) -> set[str]:
    return {_value(n) for n in _NUMBER.findall(text)}


def _worked_out(text: str) -> set[str]:
    """Numbers that are terms of a sum written out in the text, such as 72 ÷ 6 = 12."""
    found = set()
    for match in _NUMBER.finditer(text):
        before = text[: match.start()].rstrip()
        after = text[match.end() :].lstrip("% ")
        if (before and before[-1] in _OPERATORS) or (after and after[0] in _OPERATORS):
            found.add(_value(match.group()))
    return found
