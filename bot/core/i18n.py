"""Languages and bilingual texts."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


def suggest_language(language_code: str | None, default: Language) -> Language:
    """Pick a supported language from a client's IETF language code (e.g. 'zh-hans', 'en-US')."""
    if language_code:
        primary = language_code.split("-")[0].split("_")[0].lower()
        for language in LANGUAGES:
            if primary == language:
                return language
    return default


class LocalizedText(BaseModel):
    """One text in every supported language; none may be blank."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    en: str

    @field_validator("zh", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    def get(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en
