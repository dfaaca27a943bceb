"""content/ask.yaml: what authors give the asker besides the lessons.

Synonyms (words residents type for what the lessons call otherwise: 零钱 for 微信钱包, 数币 for
数字人民币) and the danger phrases that tell a fraud in progress from a question about one.
Parsed and checked when the content loads; ``bot.core.checks.ask`` tries the examples.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.fraud.catalogue import pattern_problem
from bot.core.fraud.normalise import fold

ASK_FILE = "ask.yaml"

Term = Annotated[str, Field(min_length=1, max_length=40)]
Pattern = Annotated[str, Field(min_length=1)]


def _valid_patterns(sources: list[str]) -> list[str]:
    for source in sources:
        problem = pattern_problem(source)
        if problem is not None:
            raise ValueError(f"pattern {source!r}: {problem}")
    return sources


class Danger(BaseModel):
    """Phrases that make a text urgent, and those that make it a question about scams.

    Each pattern is a regular expression matched inside one clause of the folded text (lower
    case, Simplified, full width folded; spaces between Chinese characters dropped, other runs
    of spaces and symbols one space).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The resident (or family) has acted or money has gone: urgent, even with a question mark,
    # unless a `hypothetical` cue stands before it in its clause ("万一被骗了").
    acted: Annotated[list[Pattern], Field(min_length=1)]
    # Someone is pushing the resident now ("让我转到", "asked me to share my screen"): urgent
    # unless the text is about scams in general (`general`).
    pressure: Annotated[list[Pattern], Field(min_length=1)]
    # "If", "in case", "what if": the clause imagines, it does not report.
    hypothetical: Annotated[list[Pattern], Field(min_length=1)]
    # The text asks about scams in general ("什么是…诈骗", "how do scammers…").
    general: Annotated[list[Pattern], Field(min_length=1)]
    # A question ("…靠谱吗", "is it legit"): enough to tell a red flag named in a question from
    # a message being read out, not enough to outweigh `pressure`.
    asking: Annotated[list[Pattern], Field(min_length=1)]
    # Red-flag categories (content/redflags.yaml) that mean a fraud in progress when the text is
    # not a question.
    flags: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = []
    # The lessons offered under the urgent advice, best first (what to do after being cheated).
    lessons: list[Annotated[str, Field(min_length=1)]] = []
    # Texts that must be urgent, and texts that must not; `finlit content check` tries each.
    urgent_examples: list[str] = []
    calm_examples: list[str] = []

    _patterns = field_validator("acted", "pressure", "hypothetical", "general", "asking")(
        _valid_patterns
    )


class AskBook(BaseModel):
    """The whole of content/ask.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Each group: words that mean the same thing; the first is the one the lessons use.
    synonyms: list[Annotated[list[Term], Field(min_length=2)]]
    # Words that never carry the topic (greetings, spoken fillers): dropped before searching.
    fillers: list[Term] = []
    danger: Danger

    @field_validator("synonyms")
    @classmethod
    def _folded_and_unique(cls, groups: list[list[str]]) -> list[list[str]]:
        seen: dict[str, int] = {}
        for number, group in enumerate(groups, start=1):
            for term in group:
                if fold(term) != term.strip() or term != term.strip():
                    raise ValueError(
                        f"synonym {term!r}: write it as the search reads it: {fold(term).strip()!r}"
                        " (lower case, Simplified Chinese, normal-width, no outer spaces)"
                    )
                if term in seen:
                    raise ValueError(
                        f"synonym {term!r} is in group {seen[term]} and group {number}"
                    )
                seen[term] = number
        return groups

    @field_validator("fillers")
    @classmethod
    def _fillers_folded(cls, fillers: list[str]) -> list[str]:
        for term in fillers:
            if fold(term) != term.strip() or term != term.strip():
                raise ValueError(f"filler {term!r}: write it as {fold(term).strip()!r}")
        doubled = sorted({term for term in fillers if fillers.count(term) > 1})
        if doubled:
            raise ValueError(f"fillers listed twice: {', '.join(doubled)}")
        return fillers

    @model_validator(mode="after")
    def _flags_named_once(self) -> AskBook:
        doubled = sorted({f for f in self.danger.flags if self.danger.flags.count(f) > 1})
        if doubled:
            raise ValueError(f"danger.flags: listed twice: {', '.join(doubled)}")
        return self
