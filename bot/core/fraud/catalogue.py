"""The red-flag catalogue (content/redflags.yaml): what the scam-message checker looks for.

Each category has patterns and one plain sentence per language saying what is wrong and what to
do. Patterns are compiled and checked when the content loads (that each category's examples
raise it is a content check: ``bot.core.checks.fraud``); the "ask in your own words" path
reuses the same categories.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.fraud.normalise import to_simplified
from bot.core.i18n import Language
from bot.core.validation import missing_languages, repeated

REDFLAGS_FILE = "redflags.yaml"
Form = Literal["compact", "raw"]
CATEGORY_ID = r"^[a-z][a-z0-9_]{0,31}$"


def compile_pattern(source: str, form: Form) -> re.Pattern[str]:
    """A pattern as authors write it, compiled; in compact form its spaces are dropped (the text
    it reads has none)."""
    return re.compile(re.sub(r"\s+", "", source) if form == "compact" else source)


# In compact form the clauses are searched together, one per line: "." or a negated set could
# match the line break and join two clauses.
_CROSSES_CLAUSES = re.compile(r"(?<!\\)\.|\\[sSWD]|\[\^")


def pattern_problem(source: str) -> str | None:
    try:
        compiled = re.compile(source)
    except re.error as exc:
        return f"not a valid regular expression ({exc})"
    if compiled.match(""):
        return "matches an empty text"
    if source != source.lower():
        return "must be lower case (the text it reads is)"
    if to_simplified(source) != source:
        return "must be written in Simplified Chinese (the text it reads is)"
    return None


Pattern = Annotated[str, Field(min_length=1)]
# One regular expression that must match inside one clause, or several that must each match
# somewhere in the message (a loan AND a fee).
PatternEntry = Pattern | list[Pattern]


class Category(BaseModel):
    """One kind of red flag."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CATEGORY_ID)]
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]
    patterns: Annotated[list[PatternEntry], Field(min_length=1)]
    # "raw": matched on the text with its punctuation (web addresses); else on compact clauses.
    form: Form = "compact"
    # False where the patterns contain the negation themselves ("不要告诉家人").
    negatable: bool = True
    # Texts that must raise this flag; `finlit content check` tries each.
    examples: list[str] = []

    @field_validator("patterns")
    @classmethod
    def _valid_patterns(cls, entries: list[PatternEntry]) -> list[PatternEntry]:
        for entry in entries:
            group = entry if isinstance(entry, list) else [entry]
            if isinstance(entry, list) and len(entry) < 2:
                raise ValueError("a list of patterns needs at least two (all must match)")
            for source in group:
                problem = pattern_problem(source)
                if problem is not None:
                    raise ValueError(f"pattern {source!r}: {problem}")
        return entries

    @model_validator(mode="after")
    def _within_a_clause(self) -> Category:
        if self.form == "compact":
            for entry in self.patterns:
                for source in entry if isinstance(entry, list) else [entry]:
                    if _CROSSES_CLAUSES.search(source):
                        raise ValueError(
                            f"pattern {source!r}: write \\w{{0,n}} instead of '.', '\\s' or "
                            "'[^...]' (they would reach into the next clause)"
                        )
        return self

    @field_validator("zh", "en")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        if "\n" in value.strip():
            raise ValueError("one sentence, on one line")
        return value.strip()

    def sentence(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


class CheckerTexts(BaseModel):
    """What the checker says around the flags, in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    found: Annotated[str, Field(min_length=1)]
    none: Annotated[str, Field(min_length=1)]
    rule: Annotated[str, Field(min_length=1)]
    prompt: Annotated[str, Field(min_length=1)]
    # A forwarded picture, voice message or video (or one sent after /check): its words
    # cannot be read, so the resident is asked to type them.
    unreadable: Annotated[str, Field(min_length=1)]
    offer: Annotated[str, Field(min_length=1)]
    btn_check: Annotated[str, Field(min_length=1, max_length=40)]
    # /stats (administrators): {checked} {none}, {flag} {count}
    stats_heading: Annotated[str, Field(min_length=1)]
    stats_checked: Annotated[str, Field(min_length=1)]
    stats_line: Annotated[str, Field(min_length=1)]
    stats_not_per_cohort: Annotated[str, Field(min_length=1)]


class RedFlags(BaseModel):
    """The whole catalogue: categories in the order the reply lists them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folds: dict[str, str] = {}
    negations: list[Annotated[str, Field(min_length=1)]] = []
    warnings: list[Annotated[str, Field(min_length=1)]] = []
    texts: dict[Language, CheckerTexts]
    categories: Annotated[list[Category], Field(min_length=1)]

    @field_validator("warnings", "negations")
    @classmethod
    def _valid_cues(cls, cues: list[str]) -> list[str]:
        for source in cues:
            problem = pattern_problem(source)
            if problem is not None:
                raise ValueError(f"{source!r}: {problem}")
        return cues

    @model_validator(mode="after")
    def _complete(self) -> RedFlags:
        missing = missing_languages(self.texts)
        if missing:
            raise ValueError(f"texts missing for: {', '.join(missing)}")
        ids = [category.id for category in self.categories]
        twice = repeated(ids)
        if twice:
            raise ValueError(f"category ids repeated: {', '.join(twice)}")
        return self

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)
