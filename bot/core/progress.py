"""Progress and scoring: plain functions over the curriculum and a resident's answers.

Mastery of a question means the resident's latest answer to it is right. A topic's mastery is the
share of its questions mastered, and the overall literacy score is the same share over the whole
curriculum, so unanswered questions count as not yet mastered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from enum import StrEnum

from bot.core.curriculum import Curriculum, Lesson, Topic


class LessonStatus(StrEnum):
    NEW = "new"
    STARTED = "started"
    DONE = "done"


@dataclasses.dataclass(frozen=True)
class ResidentState:
    """What the screens need to know about one resident's learning."""

    lesson_status: Mapping[str, LessonStatus]
    latest_correct: Mapping[str, bool]

    def status(self, lesson_id: str) -> LessonStatus:
        return self.lesson_status.get(lesson_id, LessonStatus.NEW)


def percent(part: int, whole: int) -> int:
    """A whole-number percentage, rounded half up; 0 of 0 is 0."""
    return (part * 200 + whole) // (whole * 2) if whole else 0


def topic_status(topic: Topic, state: ResidentState) -> LessonStatus:
    statuses = [state.status(lesson.id) for lesson in topic.lessons]
    if all(s is LessonStatus.DONE for s in statuses):
        return LessonStatus.DONE
    if any(s is not LessonStatus.NEW for s in statuses):
        return LessonStatus.STARTED
    return LessonStatus.NEW


@dataclasses.dataclass(frozen=True)
class TopicProgress:
    topic: Topic
    lessons_started: int  # opened at least once, finished or not
    lessons_done: int
    lessons_total: int
    mastered: int
    questions: int

    @property
    def mastery(self) -> int:
        return percent(self.mastered, self.questions)


@dataclasses.dataclass(frozen=True)
class ProgressReport:
    topics: tuple[TopicProgress, ...]

    @property
    def mastered(self) -> int:
        return sum(t.mastered for t in self.topics)

    @property
    def questions(self) -> int:
        return sum(t.questions for t in self.topics)

    @property
    def overall(self) -> int:
        return percent(self.mastered, self.questions)

    @property
    def started(self) -> bool:
        return any(t.lessons_started or t.mastered for t in self.topics)


def progress_report(curriculum: Curriculum, state: ResidentState) -> ProgressReport:
    rows = []
    for topic in curriculum.topics:
        question_ids = [q.id for lesson in topic.lessons for q in lesson.quiz]
        rows.append(
            TopicProgress(
                topic=topic,
                lessons_started=sum(
                    state.status(lesson.id) is not LessonStatus.NEW for lesson in topic.lessons
                ),
                lessons_done=sum(
                    state.status(lesson.id) is LessonStatus.DONE for lesson in topic.lessons
                ),
                lessons_total=len(topic.lessons),
                mastered=sum(state.latest_correct.get(qid, False) for qid in question_ids),
                questions=len(question_ids),
            )
        )
    return ProgressReport(topics=tuple(rows))


@dataclasses.dataclass(frozen=True)
class QuizResult:
    total: int
    right: int
    missed: tuple[str, ...]

    @property
    def score(self) -> int:
        return percent(self.right, self.total)


def score_attempt(question_ids: Sequence[str], correct: Mapping[str, bool]) -> QuizResult:
    """Score one attempt at a quiz; a question left unanswered counts as missed."""
    missed = tuple(qid for qid in question_ids if not correct.get(qid, False))
    return QuizResult(total=len(question_ids), right=len(question_ids) - len(missed), missed=missed)


def next_lesson(curriculum: Curriculum, state: ResidentState, after: str | None) -> Lesson | None:
    """The first unfinished lesson after ``after`` in course order, wrapping round."""
    lessons = [lesson for _, lesson in curriculum.lessons()]
    start = next((i + 1 for i, lesson in enumerate(lessons) if lesson.id == after), 0)
    for lesson in lessons[start:] + lessons[:start]:
        if lesson.id != after and state.status(lesson.id) is not LessonStatus.DONE:
            return lesson
    return None
