"""Ids that stored data names: published lessons and questions, aliases, the check-up's
versions and how its items map onto lessons."""

from __future__ import annotations

from bot.core.assessment import Assessment
from bot.core.checks.limits import ASSESSMENT_FILE
from bot.core.content import PUBLISHED_FILE, Content, Problem
from bot.core.curriculum import Curriculum


def check_stored_ids(content: Content) -> list[Problem]:
    """The check-up's items, its mapping onto lessons, and the published ids."""
    return [
        *_check_assessment(content),
        *check_checkup_mapping(content.curriculum, content.assessment),
        *check_published(content),
    ]


def _check_assessment(content: Content) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for item in content.assessment.items:
        where = f"items[{item.id}]"
        if item.id in seen:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.id", f"item id '{item.id}' is used twice")
            )
        seen.add(item.id)
        if item.topic is not None and content.curriculum.topic(item.topic) is None:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.topic", f"no topic with id '{item.topic}'")
            )
    return problems


def check_checkup_mapping(curriculum: Curriculum, assessment: Assessment) -> list[Problem]:
    """A check-up item's lesson exists, belongs to the item's topic and carries the item's tag."""
    problems = []
    for item in assessment.items:
        if item.lesson is None or item.tag is None:
            continue
        where = f"items[{item.id}]"
        lesson = curriculum.lesson(item.lesson)
        topic = curriculum.topic_of(item.lesson)
        if lesson is None or topic is None:
            problems.append(
                Problem(ASSESSMENT_FILE, f"{where}.lesson", f"no lesson with id '{item.lesson}'")
            )
            continue
        if topic.id != item.topic:
            problems.append(
                Problem(
                    ASSESSMENT_FILE,
                    f"{where}.lesson",
                    f"lesson '{lesson.id}' is in topic '{topic.id}', not in '{item.topic}'",
                )
            )
        if item.tag not in lesson.tags:
            problems.append(
                Problem(
                    ASSESSMENT_FILE,
                    f"{where}.tag",
                    f"lesson '{lesson.id}' does not carry the tag '{item.tag}' "
                    "(add it to its tags)",
                )
            )
    return problems


def check_published(content: Content) -> list[Problem]:
    """No lesson or question id that stored data may name disappears, every id in content is
    recorded as published, and the check-up's items match the fingerprint of its version."""
    published = content.published
    if published is None:
        return []
    curriculum = content.curriculum
    lessons = {lesson.id for _, lesson in curriculum.lessons()}
    questions = {q.id for _, lesson in curriculum.lessons() for q in lesson.quiz}
    problems = []
    for kind, listed, present in (
        ("lesson", published.lessons, lessons),
        ("question", published.questions, questions),
    ):
        for item_id in listed:
            if item_id in present:
                continue
            successor = published.aliases.get(item_id)
            if successor is None:
                problems.append(
                    Problem(
                        PUBLISHED_FILE,
                        f"{kind}s[{item_id}]",
                        f"{kind} '{item_id}' was published and is gone from content/topics: "
                        "stored progress and answers name it. Keep it, or add it to aliases "
                        "with the id of its successor",
                    )
                )
            elif successor not in present:
                problems.append(
                    Problem(
                        PUBLISHED_FILE,
                        f"aliases[{item_id}]",
                        f"the successor '{successor}' is not a {kind} in content/topics",
                    )
                )
        for item_id in sorted(present - set(listed)):
            problems.append(
                Problem(
                    PUBLISHED_FILE,
                    f"{kind}s",
                    f"{kind} '{item_id}' is not listed: add it, so it is never lost later",
                )
            )
    for old in published.aliases:
        if old in lessons or old in questions:
            problems.append(
                Problem(
                    PUBLISHED_FILE,
                    f"aliases[{old}]",
                    f"'{old}' is still in content/topics: an alias is for an id that went away",
                )
            )
    assessment = content.assessment
    recorded = published.checkup_versions.get(assessment.version)
    fingerprint = assessment.fingerprint()
    newest = max(published.checkup_versions, default=0)
    if recorded is None:
        problems.append(
            Problem(
                PUBLISHED_FILE,
                "checkup_versions",
                f"check-up version {assessment.version} is not recorded: add "
                f"'{assessment.version}: {fingerprint}' (a new version is the newest plus one)",
            )
        )
    elif recorded != fingerprint:
        problems.append(
            Problem(
                ASSESSMENT_FILE,
                "version",
                f"the check-up's items changed but its version is still {assessment.version}: "
                f"make it {newest + 1} and add '{newest + 1}: {fingerprint}' to "
                f"{PUBLISHED_FILE} (gains compare sittings of one version only)",
            )
        )
    elif assessment.version != newest:
        problems.append(
            Problem(
                ASSESSMENT_FILE,
                "version",
                f"version {assessment.version} is older than the newest recorded ({newest})",
            )
        )
    return problems
