"""The curriculum as authors write it: topics, lessons, cards and quiz questions."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.i18n import LocalizedText
from bot.core.validation import repeated

# Ids travel inside callback data (64 bytes at most), so they are short and plain.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,23}$"
_ID_RE = re.compile(ID_PATTERN)


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            "ids use lowercase letters, digits and '-', start with a letter or digit, "
            "and are at most 24 characters"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Who says so: the issuing body (and its document), the date, and where to read it."""

    id: str
    by: LocalizedText
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")  # 2024, 2024-05 or 2024-05-21
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")

    _id = field_validator("id")(_check_id)


class Option(_Strict):
    """One answer choice; wrong ones say why they are wrong.

    ``id`` is how stored answers and statistics name the option, whatever order it is shown in:
    it is unique within its question and never changes once published.
    """

    id: str
    text: LocalizedText
    correct: bool = False
    feedback: LocalizedText | None = None


class Question(_Strict):
    id: str
    prompt: LocalizedText
    options: list[Option] = Field(min_length=2, max_length=6)
    explanation: LocalizedText
    source: str = Field(min_length=3)
    reviewed: dt.date
    # For a question that tests a figure that can change: re-check it against the fact sheet by
    # this date (`finlit content check` warns once it has passed).
    review_by: dt.date | None = None
    # The ids of the lesson's sources its explanation rests on (shown under the feedback), or
    # "none" for a question of pure reasoning or plain advice, which gets no "Who says so?"
    # button. Left out: all of the lesson's sources (allowed only when it has one, see checks).
    sources: tuple[str, ...] | Literal["none"] = ()

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _option_ids_unique(self) -> Question:
        ids = [option.id for option in self.options]
        for option_id in ids:
            _check_id(option_id)
            if option_id.isdigit():
                # Callback data of buttons sent before option ids carry the option's position
                # as digits; an id is never only digits, so the two cannot be confused.
                raise ValueError(f"option id '{option_id}' must contain a letter")
        doubled = repeated(ids)
        if doubled:
            raise ValueError(f"option id(s) {', '.join(doubled)} used twice in one question")
        return self

    @model_validator(mode="after")
    def _one_correct_and_feedback(self) -> Question:
        correct = [i for i, option in enumerate(self.options) if option.correct]
        if len(correct) != 1:
            raise ValueError(f"exactly one option must be correct (found {len(correct)})")
        missing = [
            i + 1
            for i, option in enumerate(self.options)
            if not option.correct and not option.feedback
        ]
        if missing:
            numbers = ", ".join(str(n) for n in missing)
            raise ValueError(f"wrong option(s) {numbers} need feedback saying why they are wrong")
        return self

    @property
    def named_sources(self) -> tuple[str, ...]:
        """The source ids the question names (none for "none" or when it names none)."""
        return () if self.sources == "none" else self.sources

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)

    def option_index(self, option_id: str) -> int | None:
        """The position in content of the option with this id, or None."""
        return next((i for i, o in enumerate(self.options) if o.id == option_id), None)


def shown_order(question: Question, *, resident_id: int, attempt_id: int) -> tuple[int, ...]:
    """The content positions of a question's options in the order one resident sees them.

    Derived, never stored: from the resident, the attempt and the option ids, so the same screen
    shows the same order every time it is drawn (after a restart too), each attempt (a retry)
    draws a new one, and neither a position nor the option's length says which is right.
    """

    def rank(index: int) -> bytes:
        seed = f"{resident_id}:{attempt_id}:{question.id}:{question.options[index].id}"
        return hashlib.sha256(seed.encode()).digest()

    return tuple(sorted(range(len(question.options)), key=rank))


class Lesson(_Strict):
    id: str
    title: LocalizedText
    summary: LocalizedText
    minutes: int = Field(ge=1, le=30)
    cards: list[LocalizedText] = Field(min_length=1, max_length=12)
    quiz: list[Question] = Field(min_length=1, max_length=12)
    # Concepts the lesson teaches (ids such as "compound-interest"); a check-up item names the
    # lesson that teaches it and one of these tags, so the mapping can be checked.
    tags: tuple[str, ...] = ()
    # A lesson whose figures can change (rates, limits, rankings, rules; each dated "as of" in
    # the text): re-check them against the fact sheet by this date. `finlit content check`
    # warns once it has passed, and requires it of a lesson that says "as of" / 截至.
    review_by: dt.date | None = None
    # Who says what the lesson says, shown when a resident taps "Who says so?" under a card or
    # a quiz feedback. Required of a lesson with a review_by (its figures can change).
    sources: list[Source] = Field(default_factory=list)
    # Which cards a source backs: card number (1-based) -> source ids; a card not listed shows
    # every source of the lesson.
    card_sources: dict[int, tuple[str, ...]] = Field(default_factory=dict)

    _id = field_validator("id")(_check_id)

    @model_validator(mode="after")
    def _source_references(self) -> Lesson:
        known = [source.id for source in self.sources]
        if len(set(known)) != len(known):
            raise ValueError("a source id is used twice in the lesson")
        if self.review_by is not None and not self.sources:
            raise ValueError("a lesson with a review_by needs its sources (who says so, when)")
        for number, ids in self.card_sources.items():
            if not 1 <= number <= len(self.cards):
                raise ValueError(f"card_sources: there is no card {number}")
            unknown = sorted(set(ids) - set(known))
            if unknown:
                raise ValueError(f"card_sources[{number}]: no source {', '.join(unknown)}")
        for question in self.quiz:
            unknown = sorted(set(question.named_sources) - set(known))
            if unknown:
                raise ValueError(f"quiz[{question.id}].sources: no source {', '.join(unknown)}")
        return self

    def sources_of_card(self, index: int) -> list[Source]:
        """The sources behind card ``index`` (0-based): those listed for it, else all."""
        ids = self.card_sources.get(index + 1)
        return [s for s in self.sources if ids is None or s.id in ids]

    def sources_of(self, question: Question) -> list[Source]:
        """The sources behind a question's explanation: those it names, none when it says
        "none", else all of the lesson's."""
        if question.sources == "none":
            return []
        ids = question.sources
        return [s for s in self.sources if not ids or s.id in ids]

    @field_validator("tags")
    @classmethod
    def _tags_are_ids(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        for tag in tags:
            _check_id(tag)
        if len(set(tags)) != len(tags):
            raise ValueError("a tag is listed twice")
        return tags


class Topic(_Strict):
    id: str
    order: int = 0
    title: LocalizedText
    summary: LocalizedText
    lessons: list[Lesson] = Field(min_length=1)

    _id = field_validator("id")(_check_id)


class Published(_Strict):
    """content/published.yaml: every lesson and question id ever published, so none that stored
    progress or answers may name is lost; aliases for ids that went away; check-up versions."""

    lessons: tuple[str, ...]
    questions: tuple[str, ...]
    # A lesson (or question) that had to go: its old id -> the id of its successor.
    aliases: dict[str, str] = Field(default_factory=dict)
    # Each version of the check-up instrument -> the fingerprint of its items.
    checkup_versions: dict[int, str] = Field(default_factory=dict)

    @field_validator("lessons", "questions")
    @classmethod
    def _ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for item in ids:
            _check_id(item)
        if len(set(ids)) != len(ids):
            raise ValueError("an id is listed twice")
        return ids


class Curriculum(BaseModel):
    """All topics in display order, with lookups by id (an alias finds its successor)."""

    model_config = ConfigDict(frozen=True)

    topics: tuple[Topic, ...]
    aliases: dict[str, str] = Field(default_factory=dict)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def lesson(self, lesson_id: str) -> Lesson | None:
        lesson_id = self.aliases.get(lesson_id, lesson_id)
        return next((lesson for _, lesson in self.lessons() if lesson.id == lesson_id), None)

    def topic_of(self, lesson_id: str) -> Topic | None:
        lesson_id = self.aliases.get(lesson_id, lesson_id)
        return next((t for t, lesson in self.lessons() if lesson.id == lesson_id), None)

    def lessons(self) -> list[tuple[Topic, Lesson]]:
        return [(topic, lesson) for topic in self.topics for lesson in topic.lessons]

    def lesson_of(self, question_id: str) -> Lesson | None:
        question_id = self.aliases.get(question_id, question_id)
        return next(
            (
                lesson
                for _, lesson in self.lessons()
                if any(q.id == question_id for q in lesson.quiz)
            ),
            None,
        )

    def question(self, question_id: str) -> Question | None:
        question_id = self.aliases.get(question_id, question_id)
        for _, lesson in self.lessons():
            for question in lesson.quiz:
                if question.id == question_id:
                    return question
        return None
