"""content/drills.yaml as data: the drills, their texts and categories, checked as they load.

Separate from the drills' conversation (``drills``) so the content loader needs no screens.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.i18n import LANGUAGES, Language, LocalizedText
from bot.core.validation import missing_languages, repeated

DRILL_FILE = "drills.yaml"
Verdict = Literal["scam", "genuine"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillTexts(_Strict):
    """Everything the drill screens say around the drills themselves, in one language."""

    btn_drill: str  # the main menu's button
    btn_scam: str
    btn_genuine: str
    btn_unsure: str
    btn_next_drill: str
    intro: str
    position: str  # {number} {total}
    kind_sms: str
    kind_call: str
    kind_chat: str
    kind_notice: str
    question: str
    right: str
    wrong: str
    unsure: str
    verdict_scam: str
    verdict_genuine: str
    flags_heading: str
    genuine_heading: str
    rule: str
    # /stats
    stats_heading: str
    stats_line: str  # {category} {residents} {answers} {accuracy}
    stats_none: str

    @field_validator("*", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class Flag(_Strict):
    """One warning sign: the words in the message that show it, and what it means."""

    category: str
    quote: LocalizedText
    why: LocalizedText


class Drill(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")
    kind: Literal["sms", "call", "chat", "notice"]
    verdict: Verdict
    category: str  # the checker's category this drill trains (for /stats)
    message: LocalizedText
    flags: list[Flag] = []
    genuine_because: LocalizedText | None = None

    @model_validator(mode="after")
    def _explained(self) -> Drill:
        if self.verdict == "scam":
            if not self.flags or self.genuine_because is not None:
                raise ValueError("a scam lists its warning signs (flags) and no genuine_because")
        elif self.flags or self.genuine_because is None:
            raise ValueError("a genuine message says why (genuine_because) and has no flags")
        for flag in self.flags:
            for language in LANGUAGES:
                if flag.quote.get(language) not in self.message.get(language):
                    raise ValueError(
                        f"flag quote {flag.quote.get(language)!r} is not in the {language} message"
                    )
        return self


class Category(_Strict):
    id: str
    name: LocalizedText


class DrillBook(_Strict):
    """content/drills.yaml: the texts, the categories (the checker's ids) and the drills."""

    texts: dict[Language, DrillTexts]
    categories: list[Category]
    drills: list[Drill] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DrillBook:
        missing = missing_languages(self.texts)
        if missing:
            raise ValueError(f"texts missing for {', '.join(missing)}")
        ids = [drill.id for drill in self.drills]
        doubled = repeated(ids)
        if doubled:
            raise ValueError(f"drill ids used twice: {', '.join(doubled)}")
        known = {category.id for category in self.categories}
        for drill in self.drills:
            used = {drill.category, *(flag.category for flag in drill.flags)}
            unknown = sorted(used - known)
            if unknown:
                raise ValueError(f"drill {drill.id}: unknown categories {', '.join(unknown)}")
        return self

    def drill(self, drill_id: str) -> Drill | None:
        return next((d for d in self.drills if d.id == drill_id), None)

    def category_name(self, category_id: str, language: Language) -> str:
        found = next((c for c in self.categories if c.id == category_id), None)
        return found.name.get(language) if found else category_id

    def by_category(self) -> dict[str, list[str]]:
        """Each category that has drills, with its drills' ids, in the catalogue's order."""
        found: dict[str, list[str]] = {}
        for category in self.categories:
            ids = [d.id for d in self.drills if d.category == category.id]
            if ids:
                found[category.id] = ids
        return found
