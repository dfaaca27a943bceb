"""content/ask.yaml as authors edit it: parsed by a pydantic model when the content loads, and
checked by `finlit content check` (bot/core/checks/ask.py); and `finlit ask`."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.core.checks.ask import check_ask
from bot.core.content import ContentError, parse_content

REPO = Path(__file__).resolve().parents[3]
# The edit_ask fixture: edit a copy of ask.yaml (as YAML loads it); the copied content's root.
EditAsk = Callable[[Callable[[dict[str, Any]], None]], Path]


@pytest.fixture
def edit_ask(tmp_path: Path) -> EditAsk:
    """A copy of the real content whose ask.yaml ``change`` edits."""

    def edit(change: Callable[[dict[str, Any]], None]) -> Path:
        root = tmp_path / "content"
        shutil.copytree(REPO / "content", root)
        path = root / "ask.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(raw)
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        return root

    return edit


def parse_problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        parse_content(root)
    return [str(problem) for problem in caught.value.problems]


def check_problems(root: Path) -> list[str]:
    return [str(problem) for problem in check_ask(parse_content(root))]


def test_the_real_ask_file_is_sound() -> None:
    content = parse_content(REPO / "content")
    assert content.ask is not None
    assert check_ask(content) == []


def test_a_synonym_not_written_as_the_search_reads_it(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["synonyms"].append(["数字人民币钱包", "E-CNY Wallet"]))
    assert any("'E-CNY Wallet'" in p and "'e-cny wallet'" in p for p in parse_problems(root))


def test_a_traditional_synonym_is_refused(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["synonyms"].append(["数字钞票", "數字鈔票"]))
    assert any("數字鈔票" in p for p in parse_problems(root))


def test_a_synonym_in_two_groups(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["synonyms"].append(["信用分", "数币"]))
    assert any("'数币' is in group" in p for p in parse_problems(root))


def test_a_group_of_one_word(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["synonyms"].append(["征信"]))
    assert any(p.startswith("ask.yaml: synonyms[") for p in parse_problems(root))


def test_a_group_the_lessons_never_say(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["synonyms"].append(["以旧换新", "trade-in"]))
    problems = check_problems(root)
    assert any("no lesson says '以旧换新'" in p for p in problems), problems


def test_a_danger_pattern_that_is_not_a_regular_expression(edit_ask: EditAsk) -> None:
    root = edit_ask(lambda raw: raw["danger"]["pressure"].append("让我(转"))
    assert any("not a valid regular expression" in p for p in parse_problems(root))


def test_examples_that_do_not_read_as_they_say(edit_ask: EditAsk) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["danger"]["urgent_examples"].append("付款码和收款码有什么区别")
        raw["danger"]["calm_examples"].append("我已经把钱转给他了")

    problems = check_problems(edit_ask(change))
    assert any("urgent_examples" in p and "付款码" in p for p in problems), problems
    assert any("calm_examples" in p and "我已经把钱转给他了" in p for p in problems), problems


def test_unknown_lessons_and_flags(edit_ask: EditAsk) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["danger"]["lessons"].append("no-such-lesson")
        raw["danger"]["flags"].append("no_such_flag")

    problems = check_problems(edit_ask(change))
    assert any("no lesson 'no-such-lesson'" in p for p in problems), problems
    assert any("'no_such_flag' is not a category" in p for p in problems), problems


# -- finlit ask --------------------------------------------------------------------------------


def test_finlit_ask_prints_lesson_ids_best_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("数字人民币到底是个啥\n"))
    assert main(["ask"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 1 <= len(lines) <= 3 and lines[0] == "ecny-what"


def test_finlit_ask_prints_urgent_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("They told me to move my savings to a safe account")
    )
    assert main(["ask", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "urgent"
    assert lines[1:] == ["fraudhelp-stop", "fraud-react"]


def test_finlit_ask_prints_nothing_off_topic(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("今天晚上吃饺子"))
    assert main(["ask"]) == 0
    assert capsys.readouterr().out == ""
