"""Ids that stored data may name never vanish; the check-up's version follows its items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.checks import load_content
from bot.core.content import ContentError
from tests.conftest import Harness
from tests.core.test_content_checks import edit_topic

REPO = Path(__file__).resolve().parents[2]


def publish(root: Path, change: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Record the fixture's ids and check-up as published, then apply ``change`` to the record."""
    content = load_content(root)
    record: dict[str, Any] = {
        "lessons": [lesson.id for _, lesson in content.curriculum.lessons()],
        "questions": [q.id for _, lesson in content.curriculum.lessons() for q in lesson.quiz],
        "aliases": {},
        "checkup_versions": {content.assessment.version: content.assessment.fingerprint()},
    }
    if change is not None:
        change(record)
    (root / "published.yaml").write_text(yaml.safe_dump(record), encoding="utf-8")


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return [str(p) for p in caught.value.problems]


def test_the_real_content_records_every_id_and_its_check_up_version() -> None:
    content = load_content(REPO / "content")
    assert content.published is not None
    assert content.published.checkup_versions[content.assessment.version] == (
        content.assessment.fingerprint()
    )


def test_a_published_lesson_that_disappears_fails_the_check(content_dir: Path) -> None:
    publish(content_dir)
    edit_topic(content_dir, lambda d: d["lessons"].pop(1))
    found = problems(content_dir)
    assert (
        "published.yaml: lessons[mini-b]: lesson 'mini-b' was published and is gone from "
        "content/topics: stored progress and answers name it. Keep it, or add it to aliases "
        "with the id of its successor" in found
    )
    assert any("question 'mini-b-q1' was published and is gone" in p for p in found)


def test_an_alias_keeps_a_gone_lesson_reachable(content_dir: Path) -> None:
    def alias(record: dict[str, Any]) -> None:
        record["lessons"].append("mini-old")
        record["aliases"]["mini-old"] = "mini-a"

    publish(content_dir, alias)
    content = load_content(content_dir)
    lesson = content.curriculum.lesson("mini-old")
    assert lesson is not None and lesson.id == "mini-a"


def test_an_alias_to_nothing_and_an_unlisted_new_lesson_fail(content_dir: Path) -> None:
    def alias(record: dict[str, Any]) -> None:
        record["lessons"].append("mini-old")
        record["aliases"]["mini-old"] = "mini-none"
        record["lessons"].remove("mini-b")

    publish(content_dir, alias)
    assert problems(content_dir) == [
        "published.yaml: aliases[mini-old]: the successor 'mini-none' is not a lesson in "
        "content/topics",
        "published.yaml: lessons: lesson 'mini-b' is not listed: add it, so it is never lost later",
    ]


def test_changing_a_check_up_item_without_a_new_version_fails(content_dir: Path) -> None:
    publish(content_dir)
    path = content_dir / "assessment.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["items"][0]["prompt"]["en"] += " (reworded)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    found = problems(content_dir)
    assert len(found) == 1
    assert found[0].startswith(
        "assessment.yaml: version: the check-up's items changed but its version is still 1: "
        "make it 2 and add '2: "
    )
    # Bumping the version without recording it is not enough either.
    data["version"] = 2
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert problems(content_dir)[0].startswith(
        "published.yaml: checkup_versions: check-up version 2 is not recorded: add '2: "
    )


def test_changing_only_the_mapping_keeps_the_version(content_dir: Path) -> None:
    publish(content_dir)
    path = content_dir / "assessment.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["items"][0]["source"] = "another source line"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load_content(content_dir)


async def test_gains_compare_sittings_of_one_instrument_version(bot: Harness) -> None:
    """A baseline under an older check-up is not shown as 'before' for today's final."""
    content, ui = bot.content, bot.content.ui["en"]
    store = bot.store
    user = bot.resident(user_id=801, language_code="en")
    await user.send("/start")
    await user.press(ui.btn_agree)
    await user.press(ui.btn_profile_skip)
    await user.press(ui.btn_checkup_skip)
    old = await store.checkups.start(
        resident_id=801, kind="baseline", item_ids=["std-interest"], instrument_version=1
    )
    assert content.assessment.version > 1
    await store.checkups.finish(
        sitting_id=old.id,
        scores={"knowledge": 0.0, "behaviour": 0.0, "attitude": 0.0},
        dont_know=0,
    )
    await user.send("/checkup")
    for item in content.assessment.items:
        points = [o.points for o in item.options]
        await user.press(item.options[points.index(max(points))].text.en)
    result = user.last.visible
    assert "before" not in result  # no comparison across versions
    sittings = await store.checkups.of_resident(resident_id=801)
    assert [(s.kind, s.instrument_version) for s in sittings] == [
        ("baseline", 1),
        ("final", content.assessment.version),
    ]
