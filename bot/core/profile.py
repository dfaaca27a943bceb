"""The optional profile questions asked after consent (content/profile.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.i18n import LocalizedText

# The values a resident can leave besides an option's id.
DECLINED = "no_answer"
FIELDS = ("age_band", "resident_type", "place")


class ProfileOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9+_-]{1,16}$")
    text: LocalizedText


class ProfileQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    prompt: LocalizedText
    options: list[ProfileOption] = Field(min_length=2, max_length=8)

    @field_validator("id")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FIELDS:
            raise ValueError(f"must be one of: {', '.join(FIELDS)}")
        return value

    def option(self, option_id: str) -> ProfileOption | None:
        return next((o for o in self.options if o.id == option_id), None)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: list[ProfileQuestion] = Field(min_length=1, max_length=len(FIELDS))

    def question(self, question_id: str) -> ProfileQuestion | None:
        return next((q for q in self.questions if q.id == question_id), None)
