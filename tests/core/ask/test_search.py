"""The asker's search (issue 17): synonyms, folding, the off-topic threshold, reasons, and the
floors it holds on the tuning half of the labelled set (the held-out figures are bench/ask.py's)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.ask import Answer, Asker
from bot.core.ask.search import REASON_COLUMNS, build_asker, one_line
from bot.core.ask.tokens import Synonyms, terms_of
from bot.core.content import Content
from bot.core.i18n import Language

REPO = Path(__file__).resolve().parents[3]
TUNING = REPO / "tests" / "fixtures" / "ask" / "tuning.yaml"


@pytest.fixture(scope="module")
def asker(content: Content) -> Asker:
    return build_asker(content)


def lessons(asker: Asker, text: str, language: Language = "zh") -> list[str]:
    return [s.lesson_id for s in asker.ask(text, language).suggestions]


# -- synonyms ----------------------------------------------------------------------------------


def test_a_synonym_is_read_as_the_first_word_of_its_group() -> None:
    synonyms = Synonyms([["数字人民币", "数币", "e-cny"], ["网贷", "贷款软件", "loan app"]])
    assert synonyms.apply("数币和贷款软件") == "数字人民币和网贷"
    assert synonyms.apply("what is e-cny") == "what is 数字人民币"


def test_latin_synonyms_match_whole_words_and_plurals() -> None:
    synonyms = Synonyms([["网贷", "loan app"], ["征信", "征信报告", "credit report"]])
    assert synonyms.apply("two loan apps") == "two 网贷"
    assert synonyms.apply("a loan application") == "a loan application"
    assert synonyms.apply("征信报告") == "征信"  # the longest variant first, not 征信 + 报告


def test_residents_words_find_the_lessons_words(asker: Asker) -> None:
    # content/ask.yaml: 数币 -> 数字人民币, 信用报告 -> 征信, 贷款软件 -> 网贷
    assert lessons(asker, "数币是什么")[0] == "ecny-what"
    assert lessons(asker, "在哪查信用报告")[0] in {"credit-check", "credit-report"}
    assert "loans-apps" in lessons(asker, "贷款软件靠谱吗")


# -- folding -----------------------------------------------------------------------------------


def test_chinese_is_cut_into_characters_and_pairs_and_english_into_stems() -> None:
    assert terms_of("征信") == ["征", "信", "征信"]
    assert terms_of("scammers are sharing screens") == ["scammer", "share", "screen"]


def test_traditional_and_full_width_text_finds_the_same_lessons(asker: Asker) -> None:
    assert lessons(asker, "數字人民幣是什麼") == lessons(asker, "数字人民币是什么")
    assert lessons(asker, "ｗｈａｔ ｉｓ ｅ－ＣＮＹ", "en") == lessons(asker, "what is e-CNY", "en")
    assert lessons(asker, "數字人民幣是什麼")[0] == "ecny-what"


def test_a_voice_input_run_on_finds_its_lesson(asker: Asker) -> None:
    text = "我就想知道那个征信报告去哪里查不花钱的那种你帮我看看"
    assert "credit-check" in lessons(asker, text)


def test_misspelt_english_words_are_read_as_the_lessons_words(asker: Asker) -> None:
    assert lessons(asker, "how do i recieve mony with a qr code", "en") == lessons(
        asker, "how do i receive money with a qr code", "en"
    )
    assert "pandao-basics" in lessons(asker, "how does a garantee company help farmers borow", "en")


# -- the threshold -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("您好呀", "zh"),
        ("后天刮大风吗", "zh"),
        ("给我讲个笑话", "zh"),
        ("hello", "en"),
        ("good morning to you", "en"),
        ("", "zh"),
        ("？？？", "zh"),
        ("🙂👍", "en"),
    ],
)
def test_off_topic_texts_get_no_lesson(asker: Asker, text: str, language: Language) -> None:
    assert asker.ask(text, language) == Answer(urgent=False, suggestions=())


def test_at_most_three_lessons_best_first(asker: Asker) -> None:
    found = lessons(asker, "网上借钱的app先收费 年化利率怎么算 会不会影响征信")
    assert 1 <= len(found) <= 3
    assert len(set(found)) == len(found)


# -- reasons -----------------------------------------------------------------------------------


def test_the_reason_is_one_line_in_the_language_asked(asker: Asker) -> None:
    asked: list[tuple[str, Language]] = [
        ("什么是数字人民币？", "zh"),
        ("how do I check my credit report", "en"),
    ]
    for text, language in asked:
        answer = asker.ask(text, language)
        assert answer.suggestions
        for suggestion in answer.suggestions:
            reason = suggestion.reason
            assert reason and "\n" not in reason and "<" not in reason
            chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in reason)
            # English lessons quote a Chinese word now and then ("无视征信").
            assert chinese > 0 if language == "zh" else chinese < len(reason) / 4, reason
    first = asker.ask("什么是数字人民币？", "zh").suggestions[0]
    assert "数字人民币" in first.reason


def test_one_line_cuts_long_sentences_to_fit() -> None:
    assert one_line("短句。") == "短句。"
    cut = one_line("很长" * 60)
    assert cut.endswith("…") and len(cut) * 2 <= REASON_COLUMNS
    assert one_line("a\nb  c") == "a b c"


# -- the asker as the conversation uses it ------------------------------------------------------


def test_asking_from_many_threads_gives_the_same_answers(asker: Asker) -> None:
    texts = ["什么是数字人民币？", "how do I check my credit report", "有人让我把钱转到安全账户"]
    alone = [asker.ask(text, "zh") for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda i: asker.ask(texts[i % 3], "zh"), range(300)))
    assert together == [alone[i % 3] for i in range(300)]


def test_nothing_typed_is_logged(asker: Asker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        asker.ask("我已经转了8000元给安全账户 王大妈 13800000000", "zh")
        asker.ask("how do I check my credit report", "en")
    assert caplog.records == []


def test_the_tuning_half_holds_its_floors(asker: Asker) -> None:
    items = yaml.safe_load(TUNING.read_text(encoding="utf-8"))["items"]
    questions = [i for i in items if i["kind"] == "question"]
    urgent = [i for i in items if i["kind"] == "urgent"]
    offtopic = [i for i in items if i["kind"] == "offtopic"]
    answers = {i["id"]: asker.ask(i["text"], i["lang"]) for i in items}

    def top3(item: dict[str, Any]) -> bool:
        found = [s.lesson_id for s in answers[item["id"]].suggestions]
        return any(lesson in item["lessons"] for lesson in found)

    assert sum(map(top3, questions)) >= 0.90 * len(questions)
    assert all(answers[i["id"]].urgent for i in urgent)
    assert sum(answers[i["id"]].urgent for i in questions) <= 0.05 * len(questions)
    assert not any(answers[i["id"]].urgent for i in questions if i.get("hard"))
    assert sum(not answers[i["id"]].suggestions for i in offtopic) >= 0.80 * len(offtopic)
