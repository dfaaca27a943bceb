"""The literacy check-up: an instrument taken before (baseline) and after (final) the course.

Items belong to one of three dimensions. Knowledge items have one right option (1 point) and
always offer "I don't know", recorded apart from a wrong answer; behaviour and attitude items
give 0-3 points per option. A dimension's score is the share of its available points earned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.curriculum import _check_id
from bot.core.i18n import LocalizedText

Dimension = Literal["knowledge", "behaviour", "attitude"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
BASELINE = "baseline"
FINAL = "final"
# A final check-up is offered once this share of the curriculum's lessons is completed.
FINAL_AFTER_SHARE = 0.5


class ScoredOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: LocalizedText
    points: int = Field(ge=0, le=3)


class AssessmentItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    dimension: Dimension
    # The topic that teaches this; a knowledge item missed points the resident to it.
    topic: str | None = None
    # The lesson in that topic that really teaches the item, and the concept tag both carry
    # (the lesson lists it under `tags`); `finlit content check` verifies the pair.
    lesson: str | None = None
    tag: str | None = None
    prompt: LocalizedText
    options: list[ScoredOption] = Field(min_length=2, max_length=5)
    source: str = Field(min_length=3)
    reviewed: dt.date

    _id = field_validator("id")(_check_id)

    @field_validator("lesson", "tag")
    @classmethod
    def _mapping_ids(cls, value: str | None) -> str | None:
        return None if value is None else _check_id(value)

    @model_validator(mode="after")
    def _lesson_and_tag_together(self) -> AssessmentItem:
        if (self.lesson is None) != (self.tag is None):
            raise ValueError(
                "an item names both the lesson that teaches it and its tag, or neither"
            )
        if self.lesson is not None and self.topic is None:
            raise ValueError("an item that names a lesson needs the lesson's topic too")
        return self

    @model_validator(mode="after")
    def _points_fit_the_dimension(self) -> AssessmentItem:
        points = [option.points for option in self.options]
        if self.dimension == "knowledge":
            if sorted(points) != [0] * (len(points) - 1) + [1]:
                raise ValueError("a knowledge item needs exactly one right option (points: 1)")
            if self.topic is None:
                raise ValueError("a knowledge item needs the topic that teaches it")
        elif max(points) == 0:
            raise ValueError("at least one option must give points")
        return self

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)

    @property
    def offers_dont_know(self) -> bool:
        return self.dimension == "knowledge"


class Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Changing what residents are asked (an item's wording, options, points, or which items, in
    # which order) makes a new instrument: its version goes up, each sitting stores the version
    # it began under, and before/after gains compare sittings of one version only. content/
    # published.yaml records each version's fingerprint; `finlit content check` fails when the
    # items no longer match the fingerprint recorded for this version.
    version: int = Field(ge=1)
    minutes: int = Field(ge=1, le=30)
    items: list[AssessmentItem] = Field(min_length=3, max_length=20)

    def fingerprint(self) -> str:
        """A short digest of what residents are asked and how it is scored (not of the mapping
        to lessons, sources or review dates, which change no sitting)."""
        asked = [
            [
                item.id,
                item.dimension,
                item.prompt.zh,
                item.prompt.en,
                [[o.text.zh, o.text.en, o.points] for o in item.options],
            ]
            for item in self.items
        ]
        text = json.dumps(asked, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @field_validator("items", mode="after")
    @classmethod
    def _every_dimension(cls, items: list[AssessmentItem]) -> list[AssessmentItem]:
        missing = set(DIMENSIONS) - {item.dimension for item in items}
        if missing:
            raise ValueError(f"no items for: {', '.join(sorted(missing))}")
        return items

    def item(self, item_id: str) -> AssessmentItem | None:
        return next((item for item in self.items if item.id == item_id), None)


@dataclasses.dataclass(frozen=True)
class DimensionScore:
    points: int
    max_points: int

    @property
    def share(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


@dataclasses.dataclass(frozen=True)
class SittingScore:
    dimensions: Mapping[Dimension, DimensionScore]
    dont_know: int
    study_next: tuple[str, ...]  # topic ids, in the order their items were asked

    def share(self, dimension: Dimension) -> float:
        return self.dimensions[dimension].share

    def shares(self) -> dict[str, float]:
        return {dimension: self.share(dimension) for dimension in DIMENSIONS}


def score_sitting(
    assessment: Assessment, item_ids: Sequence[str], chosen: Mapping[str, int | None]
) -> SittingScore:
    """Score one sitting. ``chosen`` maps item id to option index, or None for "I don't know";
    an item not answered earns nothing but still counts towards the maximum."""
    points = dict.fromkeys(DIMENSIONS, 0)
    maximum = dict.fromkeys(DIMENSIONS, 0)
    dont_know = 0
    study: list[str] = []
    for item_id in item_ids:
        item = assessment.item(item_id)
        if item is None:
            continue  # removed from the instrument since this sitting began
        maximum[item.dimension] += item.max_points
        answer = chosen.get(item_id)
        earned = (
            item.options[answer].points if answer is not None and answer < len(item.options) else 0
        )
        points[item.dimension] += earned
        if item_id in chosen and answer is None:
            dont_know += 1
        if item.dimension == "knowledge" and earned == 0 and item.topic and item.topic not in study:
            study.append(item.topic)
    return SittingScore(
        dimensions={d: DimensionScore(points[d], maximum[d]) for d in DIMENSIONS},
        dont_know=dont_know,
        study_next=tuple(study),
    )


def gain(pre: float, post: float) -> float:
    """Raw gain, in the same unit as the scores (shares of the maximum)."""
    return post - pre


def normalised_gain(pre: float, post: float, maximum: float = 1.0) -> float | None:
    """(post - pre) / (max - pre): the share of what was left to learn that was learned.

    Undefined (None) for a resident who already had the maximum before.
    """
    if pre >= maximum:
        return None
    return (post - pre) / (maximum - pre)


def final_is_due(lessons_done: int, lessons_total: int) -> bool:
    return lessons_total > 0 and lessons_done >= lessons_total * FINAL_AFTER_SHARE
