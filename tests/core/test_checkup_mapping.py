"""The check-up mapping: each item names the lesson that teaches it and a tag both carry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.content import ContentError, load_content

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
