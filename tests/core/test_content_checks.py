"""The content checker: one test per kind of problem it reports, on small broken copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.core.checks import length_cues, load_content, reading_length, source_counts
from bot.core.content import ContentError

REPO = Path(__file__).resolve().parents[2]


def edit_topic(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "topics" / "mini.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return [str(p) for p in caught.value.problems]


def test_fixture_is_valid(content_dir: Path) -> None:
    content = load_content(content_dir)
    assert [t.id for t in content.curriculum.topics] == ["mini"]


def test_invalid_yaml_names_the_line(content_dir: Path) -> None:
    (content_dir / "topics" / "mini.yaml").write_text("id: mini\ntitle: {zh: x\n", encoding="utf-8")
    # libyaml says "did not find expected ',' or '}'", the pure-Python parser "expected ',' or
    # '}', but got '<stream end>'": the file, the line and the problem either way.
    [problem] = problems(content_dir)
    assert problem.startswith("topics/mini.yaml: line 3: not valid YAML: ")
    assert "expected ',' or '}'" in problem


def test_missing_language(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["title"].pop("en"))
    assert problems(content_dir) == ["topics/mini.yaml: lessons[mini-a].title.en: Field required"]


def test_empty_text(content_dir: Path) -> None:
    def blank(d: dict[str, Any]) -> None:
        d["lessons"][0]["cards"][1]["zh"] = "   "

    edit_topic(content_dir, blank)
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].cards[2].zh: must not be empty"
    ]


def test_unknown_field_is_a_typo(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0].update(minuts=3))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].minuts: Extra inputs are not permitted"
    ]


def test_duplicate_ids_across_files(content_dir: Path) -> None:
    shutil.copy(content_dir / "topics" / "mini.yaml", content_dir / "topics" / "mini2.yaml")
    found = problems(content_dir)
    assert "topics/mini2.yaml: id: topic id 'mini' is already used in topics/mini.yaml" in found
    assert (
        "topics/mini2.yaml: lessons[mini-a].quiz[mini-a-q1].id: question id 'mini-a-q1' is "
        "already used in topics/mini.yaml" in found
    )


def test_exactly_one_correct_option(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["quiz"][0]["options"][1].update(correct=True))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1]: exactly one option must be correct "
        "(found 2)"
    ]


def test_wrong_option_needs_feedback(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["quiz"][1]["options"][2].pop("feedback"))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q2]: wrong option(s) 3 need feedback "
        "saying why they are wrong"
    ]


def test_too_many_options(content_dir: Path) -> None:
    def seven(d: dict[str, Any]) -> None:
        options = d["lessons"][0]["quiz"][1]["options"]
        options.extend(options[0] for _ in range(5))

    edit_topic(content_dir, seven)
    found = problems(content_dir)
    assert found == [
        "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q2].options: List should have at most 6 "
        "items after validation, not 8"
    ]


def test_source_and_reviewed_date_required(content_dir: Path) -> None:
    def strip(d: dict[str, Any]) -> None:
        d["lessons"][0]["quiz"][0].pop("source")
        d["lessons"][0]["quiz"][0]["reviewed"] = "last year"

    edit_topic(content_dir, strip)
    found = problems(content_dir)
    assert "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].source: Field required" in found
    assert any(
        p.startswith("topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].reviewed: ") for p in found
    )


def test_bad_id(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][1].update(id="Lesson B!"))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[Lesson B!].id: ids use lowercase letters, digits and '-', "
        "start with a letter or digit, and are at most 24 characters"
    ]


def test_html_outside_telegrams_subset(content_dir: Path) -> None:
    def bad_html(d: dict[str, Any]) -> None:
        d["lessons"][0]["cards"][0]["en"] = "Pay <p>here</p> & <b>there"

    edit_topic(content_dir, bad_html)
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].cards[1].en: HTML: a bare '&' must be written &amp;",
        "topics/mini.yaml: lessons[mini-a].cards[1].en: HTML: tag <b> is never closed",
        "topics/mini.yaml: lessons[mini-a].cards[1].en: HTML: tag <p> is not allowed",
    ]


def test_html_in_plain_text(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["title"].update(en="<b>Lesson</b> A"))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].title.en: plain text: HTML tags are not allowed here"
    ]


def test_option_too_wide_for_a_button(content_dir: Path) -> None:
    edit_topic(
        content_dir,
        lambda d: d["lessons"][0]["quiz"][0]["options"][0]["text"].update(zh="付" * 21),
    )
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].options[1].text.zh: too wide for a "
        "phone button: 42 columns (at most 40; a Chinese character counts 2)"
    ]


def test_card_too_long(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["cards"][0].update(en="word " * 200))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-a].cards[1].en: too long to read on one screen: 999 "
        "visible characters (at most 500); split the card within its lesson",
        "topics/mini.yaml: lessons[mini-a].cards[1].en: too long: 999 characters (at most 600 "
        "for a card)",
    ]


def test_untranslated_copy(content_dir: Path) -> None:
    edit_topic(
        content_dir, lambda d: d["lessons"][1]["cards"][0].update(en="验证码不能告诉任何人。")
    )
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-b].cards[1]: zh and en are identical: translate it",
        "topics/mini.yaml: lessons[mini-b].cards[1].en: English text is mostly Chinese: "
        "translate it",
    ]


def test_figures_may_be_identical_in_both_languages(content_dir: Path) -> None:
    edit_topic(
        content_dir,
        lambda d: d["lessons"][0]["quiz"][0]["options"][1]["text"].update(zh="36.5%", en="36.5%"),
    )
    load_content(content_dir)


@pytest.mark.parametrize("text", ["TODO: write this", "……", "待翻译", "..."])
def test_placeholder_text(content_dir: Path, text: str) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][1]["cards"][0].update(zh=text))
    found = problems(content_dir)
    assert (
        "topics/mini.yaml: lessons[mini-b].cards[1].zh: placeholder text: write the real text"
        in found
    )


def test_chinese_text_without_chinese(content_dir: Path) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][1]["cards"][0].update(zh="Never tell a code"))
    assert problems(content_dir) == [
        "topics/mini.yaml: lessons[mini-b].cards[1].zh: Chinese text has no Chinese characters"
    ]


def test_missing_ui_key(content_dir: Path) -> None:
    path = content_dir / "ui" / "en.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["btn_next"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert problems(content_dir) == ["ui/en.yaml: btn_next: Field required"]


def test_ui_placeholders_must_match(content_dir: Path) -> None:
    path = content_dir / "ui" / "en.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["card_position"] = "Page {page} of {total}"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    found = problems(content_dir)
    assert found[0] == (
        "ui/en.yaml: card_position: placeholders ['page', 'total'] differ from ui/zh.yaml "
        "['number', 'total']"
    )


def test_ui_button_too_wide(content_dir: Path) -> None:
    path = content_dir / "ui" / "zh.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["btn_menu"] = "回" * 25
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert problems(content_dir) == [
        "ui/zh.yaml: btn_menu: too wide for a phone button: 50 columns (at most 40)"
    ]


def test_template_syntax_error(content_dir: Path) -> None:
    (content_dir / "templates" / "help.html.j2").write_text("{{ ui.help_text ", encoding="utf-8")
    found = problems(content_dir)
    assert len(found) == 1 and found[0].startswith("templates/help.html.j2: line 1: ")


def test_template_using_an_unknown_name(content_dir: Path) -> None:
    (content_dir / "templates" / "help.html.j2").write_text("{{ ui.help_txt }}", encoding="utf-8")
    found = problems(content_dir)
    assert found[0].startswith("templates: en: cannot render: UndefinedError:")
    assert found[1].startswith("templates: zh: cannot render: UndefinedError:")


def test_template_with_html_telegram_refuses(content_dir: Path) -> None:
    (content_dir / "templates" / "help.html.j2").write_text(
        "<p>{{ ui.help_text }}</p>", encoding="utf-8"
    )
    found = problems(content_dir)
    assert "templates: help (en): rendered HTML: tag <p> is not allowed" in found


def test_rendered_message_over_telegrams_limit(content_dir: Path) -> None:
    (content_dir / "templates" / "help.html.j2").write_text(
        "{% for i in range(500) %}{{ ui.help_text }}{% endfor %}", encoding="utf-8"
    )
    found = problems(content_dir)
    assert any(
        p.startswith("templates: help (zh): rendered message is ")
        and p.endswith("Telegram allows 4096")
        for p in found
    )


def test_missing_directory(tmp_path: Path) -> None:
    assert problems(tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere'}: (directory): content directory not found"
    ]


def test_every_problem_is_reported_not_just_the_first(content_dir: Path) -> None:
    def two_problems(d: dict[str, Any]) -> None:
        d["lessons"][0]["title"].pop("en")
        d["lessons"][1]["quiz"][0]["options"][0].pop("feedback")

    edit_topic(content_dir, two_problems)
    shutil.copy(content_dir / "ui" / "en.yaml", content_dir / "ui" / "zh.yaml.bak")
    (content_dir / "ui" / "zh.yaml").unlink()
    assert len(problems(content_dir)) == 3


def test_check_command_prints_every_problem_and_exits_1(
    content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_topic(content_dir, lambda d: d["lessons"][0]["title"].pop("en"))
    (content_dir / "ui" / "zh.yaml").unlink()
    assert main(["content", "check", str(content_dir)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "topics/mini.yaml: lessons[mini-a].title.en: Field required",
        "ui/zh.yaml: (file): UI catalogue for 'zh' is missing",
        f"2 problem(s) in {content_dir}",
    ]


def test_check_command_ok(content_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check", str(content_dir)]) == 0
    assert capsys.readouterr().out == (
        "content OK: 1 topics, 2 lessons, 3 cards, 3 questions in each language\n"
        "answer keys (zh): correct option unique longest in 0%, unique shortest in 0% of "
        "3 questions (not checked below 20 questions)\n"
        "answer keys (en): correct option unique longest in 33%, unique shortest in 67% of "
        "3 questions (not checked below 20 questions)\n"
        "who says so (questions): 0 name their sources, 0 need none, 0 use their lesson's one "
        "source, 3 have no source\n"
    )
    # The real course is large enough for the limit to apply; its shares are length_cues'.
    assert main(["content", "check", str(REPO / "content")]) == 0
    cues = length_cues(load_content(REPO / "content").curriculum)
    lines = capsys.readouterr().out.splitlines()
    # Warnings (figures due for a re-check) come last and change with the calendar.
    assert [line for line in lines[1:] if not line.startswith("warning: ")] == [
        *(
            f"answer keys ({language}): correct option unique longest in {c.longest_share:.0%}, "
            f"unique shortest in {c.shortest_share:.0%} of {c.questions} questions (at most 40%)"
            for language, c in cues.items()
        ),
        "who says so (questions): {named} name their sources, {none} need none, {lesson_one} "
        "use their lesson's one source, {no_source} have no source".format(
            **source_counts(load_content(REPO / "content"))
        ),
    ]


def test_real_content_is_valid() -> None:
    load_content(REPO / "content")


def test_reading_length_counts_what_a_reader_sees() -> None:
    assert reading_length("<b>付款码</b>&amp;收款码") == 7
    assert reading_length("First line.\n\n  Second   line.") == len("First line.Second line.")
    assert reading_length("  🌽 付钱 ") == 4


@pytest.mark.parametrize(("language", "limit", "char"), [("zh", 160, "付"), ("en", 500, "w")])
def test_card_too_long_to_read_on_one_screen(
    content_dir: Path, language: str, limit: int, char: str
) -> None:
    def card(length: int) -> Callable[[dict[str, Any]], None]:
        # Markup does not count: only the characters a reader sees.
        return lambda d: d["lessons"][0]["cards"][0].update({language: f"<b>{char * length}</b>"})

    edit_topic(content_dir, card(limit))
    load_content(content_dir)
    edit_topic(content_dir, card(limit + 1))
    assert problems(content_dir) == [
        f"topics/mini.yaml: lessons[mini-a].cards[1].{language}: too long to read on one screen: "
        f"{limit + 1} visible characters (at most {limit}); split the card within its lesson"
    ]


def _many_questions(
    correct: dict[str, str], wrong: list[dict[str, str]], count: int
) -> Callable[[dict[str, Any]], None]:
    """A change adding ``count`` questions whose correct option is ``correct``."""

    def change(d: dict[str, Any]) -> None:
        for n in range(count):
            if n % 10 == 0:  # a lesson holds at most 12 questions
                lesson = {**d["lessons"][1], "id": f"mini-many{n}", "quiz": []}
                d["lessons"].append(lesson)
            lesson["quiz"].append(
                {
                    "id": f"mini-b-many{n}",
                    "prompt": {"zh": "哪个对？", "en": "Which is right?"},
                    "options": [{"id": "right", "text": correct, "correct": True}]
                    + [
                        {"id": f"wrong-{i}", "text": w, "feedback": {"zh": "不对。", "en": "No."}}
                        for i, w in enumerate(wrong)
                    ],
                    "explanation": {"zh": "就是这样。", "en": "That is so."},
                    "source": "facts sheet §1.1",
                    "reviewed": "2026-11-22",
                }
            )

    return change


def test_correct_option_longest_too_often(content_dir: Path) -> None:
    # 20 new questions whose answer is the longest in both languages, with the fixture's 3.
    long_answer = {"zh": "先挂断再打110", "en": "Hang up, then call 110"}
    edit_topic(content_dir, _many_questions(long_answer, [{"zh": "转账", "en": "Pay"}] * 2, 20))
    assert problems(content_dir) == [
        "topics/: answer keys (en): the correct option is the unique longest in 21 of 23 "
        "questions (91%, at most 40%): rewrite options so length gives nothing away",
        "topics/: answer keys (zh): the correct option is the unique longest in 20 of 23 "
        "questions (87%, at most 40%): rewrite options so length gives nothing away",
    ]


def test_correct_option_shortest_too_often(content_dir: Path) -> None:
    short_answer = {"zh": "不给", "en": "No"}
    wrong = [{"zh": "给他看看", "en": "Show it"}, {"zh": "念给他听", "en": "Read it out"}]
    edit_topic(content_dir, _many_questions(short_answer, wrong, 20))
    found = problems(content_dir)
    assert found == [
        "topics/: answer keys (en): the correct option is the unique shortest in 22 of 23 "
        "questions (96%, at most 40%): rewrite options so length gives nothing away",
        "topics/: answer keys (zh): the correct option is the unique shortest in 20 of 23 "
        "questions (87%, at most 40%): rewrite options so length gives nothing away",
    ]


def test_balanced_answer_keys_pass(content_dir: Path) -> None:
    # Options of equal length give nothing away; the fixture's own 3 questions stay under 40 %.
    same = {"zh": "先问家人", "en": "Ask family"}
    wrong = [{"zh": "先转过去", "en": "Pay at once"}, {"zh": "先点链接", "en": "Tap a link"}]
    edit_topic(content_dir, _many_questions(same, wrong, 20))
    load_content(content_dir)


def test_few_questions_are_not_judged(content_dir: Path) -> None:
    # The fixture's 3 questions give the English answer away by length; 3 say nothing yet.
    cues = length_cues(load_content(content_dir).curriculum)
    assert (cues["en"].questions, cues["en"].longest, cues["en"].shortest) == (3, 1, 2)


def test_real_content_gives_nothing_away_by_length() -> None:
    cues = length_cues(load_content(REPO / "content").curriculum)
    for language, cue in cues.items():
        assert cue.longest_share <= 0.35, (language, cue)
        assert cue.shortest_share <= 0.35, (language, cue)


def test_long_answer_labels_are_warned_about_with_a_count_not_refused(content_dir: Path) -> None:
    from bot.core.checks import label_warnings

    def long(d: dict[str, Any]) -> None:
        options = d["lessons"][0]["quiz"][0]["options"]
        options[0]["text"] = {
            "zh": "用来付钱，从您账上直接扣钱的码",
            "en": "Paying, straight from your account",
        }
        options[1]["text"] = {"zh": "收钱", "en": "Getting paid by other people, always"}

    edit_topic(content_dir, long)
    content = load_content(content_dir)  # a warning only: the content still loads
    zh, en = label_warnings(content)
    assert zh.startswith("1 of 26 answer labels (zh) are 15 characters or longer")
    assert en.startswith("2 of 26 answer labels (en) are 30 characters or longer")
    assert en.endswith(
        "Longest: topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].options[getting-paid].en "
        "(36); topics/mini.yaml: lessons[mini-a].quiz[mini-a-q1].options[paying].en (34)"
    )
