"""The check-up mapping: each item names the lesson that teaches it and a tag both carry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.assessment import Assessment, score_sitting
from bot.core.checks import check_checkup_mapping, load_content
from bot.core.content import ContentError
from bot.core.curriculum import Curriculum, Topic

REPO = Path(__file__).resolve().parents[2]
Edit = Callable[[dict[str, Any]], None]


def edit_yaml(path: Path, change: Edit) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def map_code_item(lesson: str = "mini-a", tag: str = "paycode") -> Edit:
    def change(data: dict[str, Any]) -> None:
        data["items"][0].update(lesson=lesson, tag=tag)

    return change


def tag_lesson(*tags: str) -> Edit:
    def change(data: dict[str, Any]) -> None:
        data["lessons"][0]["tags"] = list(tags)

    return change


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return [str(p) for p in caught.value.problems]


def test_a_mapped_item_loads_and_the_lesson_keeps_its_tags(content_dir: Path) -> None:
    edit_yaml(content_dir / "topics" / "mini.yaml", tag_lesson("paycode", "qr-codes"))
    edit_yaml(content_dir / "assessment.yaml", map_code_item())
    content = load_content(content_dir)
    item = content.assessment.item("mk-code")
    assert item is not None
    assert (item.lesson, item.tag) == ("mini-a", "paycode")
    lesson = content.curriculum.lesson("mini-a")
    assert lesson is not None
    assert lesson.tags == ("paycode", "qr-codes")


def test_the_lesson_must_exist(content_dir: Path) -> None:
    edit_yaml(content_dir / "assessment.yaml", map_code_item(lesson="mini-z"))
    assert problems(content_dir) == [
        "assessment.yaml: items[mk-code].lesson: no lesson with id 'mini-z'"
    ]


def test_the_lesson_must_carry_the_tag(content_dir: Path) -> None:
    edit_yaml(content_dir / "topics" / "mini.yaml", tag_lesson("qr-codes"))
    edit_yaml(content_dir / "assessment.yaml", map_code_item())
    assert problems(content_dir) == [
        "assessment.yaml: items[mk-code].tag: lesson 'mini-a' does not carry the tag 'paycode' "
        "(add it to its tags)"
    ]


def test_the_lesson_must_be_in_the_items_topic(content_dir: Path) -> None:
    """Topics to study next come from the item's topic, so the lesson must sit in it."""

    def other_topic(data: dict[str, Any]) -> None:
        data["id"], data["order"] = "other", 2
        for lesson in data["lessons"]:
            lesson["id"] = "other-" + lesson["id"]
            for question in lesson["quiz"]:
                question["id"] = "other-" + question["id"]
        data["lessons"][0]["tags"] = ["paycode"]

    other = content_dir / "topics" / "other.yaml"
    other.write_bytes((content_dir / "topics" / "mini.yaml").read_bytes())
    edit_yaml(other, other_topic)
    edit_yaml(content_dir / "assessment.yaml", map_code_item(lesson="other-mini-a"))
    assert problems(content_dir) == [
        "assessment.yaml: items[mk-code].lesson: lesson 'other-mini-a' is in topic 'other', "
        "not in 'mini'",
    ]


@pytest.mark.parametrize("missing", ["lesson", "tag"])
def test_lesson_and_tag_come_together(content_dir: Path, missing: str) -> None:
    def half(data: dict[str, Any]) -> None:
        map_code_item()(data)
        data["items"][0].pop(missing)

    edit_yaml(content_dir / "assessment.yaml", half)
    assert problems(content_dir) == [
        "assessment.yaml: items[mk-code]: an item names both the lesson that teaches it and its "
        "tag, or neither"
    ]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (("Compound Interest",), "ids use lowercase letters"),
        (("paycode", "paycode"), "a tag is listed twice"),
    ],
)
def test_tags_are_plain_ids_listed_once(
    content_dir: Path, tags: tuple[str, ...], message: str
) -> None:
    edit_yaml(content_dir / "topics" / "mini.yaml", tag_lesson(*tags))
    [found] = problems(content_dir)
    assert found.startswith("topics/mini.yaml: lessons[mini-a].tags: ")
    assert message in found


# ---- The real curriculum and instrument, parsed without the other content checks, so this
# mapping is tested on its own.


def real_curriculum() -> Curriculum:
    topics = [
        Topic.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted((REPO / "content" / "topics").glob("*.yaml"))
    ]
    return Curriculum(topics=tuple(sorted(topics, key=lambda t: (t.order, t.id))))


def real_instrument() -> Assessment:
    raw = yaml.safe_load((REPO / "content" / "assessment.yaml").read_text(encoding="utf-8"))
    return Assessment.model_validate(raw)


def test_every_real_item_is_mapped_to_a_lesson_that_carries_its_tag() -> None:
    curriculum, instrument = real_curriculum(), real_instrument()
    assert check_checkup_mapping(curriculum, instrument) == []
    unmapped = [item.id for item in instrument.items if item.lesson is None]
    assert unmapped == []


def test_the_standard_questions_point_to_the_lessons_that_teach_them() -> None:
    curriculum, instrument = real_curriculum(), real_instrument()

    def topic_id(lesson_id: str) -> str | None:
        topic = curriculum.topic_of(lesson_id)
        return None if topic is None else topic.id

    mapping = {
        item.id: (topic_id(item.lesson), item.lesson, item.tag)
        for item in instrument.items
        if item.lesson is not None
    }
    assert mapping["std-interest"] == ("basics", "basics-interest", "compound-interest")
    assert mapping["std-inflation"] == ("basics", "basics-inflation", "inflation")
    assert mapping["std-diversify"] == ("basics", "basics-diversify", "diversification")


def test_missing_the_standard_questions_suggests_money_basics_first() -> None:
    """What the resident sees after a check-up: topics to study next, from the mapping."""
    instrument = real_instrument()
    ids = [item.id for item in instrument.items]
    wrong_on_standard = {"std-interest": 1, "std-inflation": 0, "std-diversify": 0}
    right_elsewhere = {
        item.id: max(range(len(item.options)), key=lambda i: item.options[i].points)
        for item in instrument.items
        if item.id not in wrong_on_standard
    }
    score = score_sitting(instrument, ids, {**wrong_on_standard, **right_elsewhere})
    assert score.study_next == ("basics",)
