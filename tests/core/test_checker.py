"""The scam-message checker: its catalogue, normalisation, matching, routing and measured quality."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.core.checks import load_content
from bot.core.content import Content, ContentError
from bot.core.fraud import routing
from bot.core.fraud.catalogue import RedFlags
from bot.core.fraud.checker import Checker
from bot.core.fraud.evaluation import Corpus, evaluate
from bot.core.fraud.normalise import chinese_number, normalise, numbers_as_digits

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "scam_corpus.yaml"

# Every red flag issue 16 names, by the id the corpus labels it with.
ISSUE_CATEGORIES = {
    "safe_account",
    "share_code",
    "remote_screen",
    "fake_refund",
    "account_trouble",
    "fake_authority",
    "guaranteed_returns",
    "task_pay",
    "loan_fee_first",
    "urgency_secrecy",
    "risky_link",
    "new_number",
    "prize_fee",
    "benefit_verification",
}


@pytest.fixture(scope="module")
def catalogue(content: Content) -> RedFlags:
    assert content.redflags is not None
    return content.redflags


@pytest.fixture(scope="module")
def checker(catalogue: RedFlags) -> Checker:
    return Checker(catalogue)


def found(checker: Checker, text: str) -> set[str]:
    return {category.id for category in checker.flags(text)}


# -- the catalogue --------------------------------------------------------------------------


def test_the_catalogue_covers_every_category_of_the_issue(catalogue: RedFlags) -> None:
    assert {c.id for c in catalogue.categories} == ISSUE_CATEGORIES
    for category in catalogue.categories:
        assert category.zh.strip() and category.en.strip()
        assert category.examples, f"{category.id} has no example to check it by"


def test_every_category_explains_what_to_do_in_one_sentence(catalogue: RedFlags) -> None:
    for category in catalogue.categories:
        assert category.zh.count("。") <= 1 and "\n" not in category.zh
        assert category.en.count(". ") == 0, category.en


def test_no_reply_text_calls_a_message_safe(catalogue: RedFlags) -> None:
    for language, texts in catalogue.texts.items():
        said = " ".join((texts.none, texts.found, texts.rule)).lower()
        if language == "en":
            assert "is safe" not in said and "not a scam" not in said
        else:
            assert "是安全的" not in said and "不是骗局" not in said
    assert "96110" in catalogue.texts["zh"].none and "96110" in catalogue.texts["en"].none
    for texts in catalogue.texts.values():
        assert "96110" in texts.rule and "110" in texts.rule.replace("96110", "")


def _content_with(tmp_path: Path, change: str, to: str) -> Path:
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    path = root / "redflags.yaml"
    text = path.read_text(encoding="utf-8")
    assert change in text
    path.write_text(text.replace(change, to, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("change", "to", "complaint"),
    [
        ("      - 安全账户\n", "      - 安全账户(\n", "not a valid regular expression"),
        ("      - 安全账户\n", "      - 安全帳戶\n", "Simplified Chinese"),
        ("      - 安全账户\n", "      - Safe\n", "lower case"),
        ("      - 安全账户\n", "      - (x)?\n", "matches an empty text"),
        (
            "      - 请把卡里的钱转到我们指定的安全账户。\n",
            "      - 今天天气很好。\n",
            "does not raise it",
        ),
        ("  - id: share_code\n", "  - id: safe_account\n", "category ids repeated"),
        ("    btn_check: 🔍 Check a message\n", "", "btn_check"),
    ],
)
def test_content_check_refuses_a_broken_catalogue(
    tmp_path: Path, change: str, to: str, complaint: str
) -> None:
    with pytest.raises(ContentError) as error:
        load_content(_content_with(tmp_path, change, to))
    assert complaint in error.value.report()
    assert "redflags.yaml" in error.value.report()


# -- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("伍仟", 5000),
        ("二十", 20),
        ("十五", 15),
        ("两万", 20000),
        ("拾万", 100000),
        ("二零二六", 2026),
    ],
)
def test_chinese_numbers(written: str, value: int) -> None:
    assert chinese_number(written) == value


def test_numbers_in_text_become_digits_but_words_stay_words() -> None:
    assert numbers_as_digits("先交保证金伍仟元") == "先交保证金5000元"
    assert numbers_as_digits("每月收益百分之三十") == "每月收益30%"
    assert numbers_as_digits("千万别告诉你妈，万一出事") == "千万别告诉你妈，万一出事"
    assert numbers_as_digits("一个人") == "一个人"


def test_traditional_full_width_and_spaced_text_reads_as_plain_simplified() -> None:
    plain = normalise("请把验证码告诉我", {}).clauses
    for variant in (
        "請把驗證碼告訴我",
        "请把验 证 码告诉我",
        "请把验*证*码告诉我",
        "请把ｖ验证码告诉我".replace("ｖ", ""),
        "请把验证码告诉我　",
    ):
        assert normalise(variant, {}).clauses == plain
    assert normalise("ＶＩＰ客服", {}).raw == "vip客服"
    assert normalise("公。安。局。通知", {}).clauses == ("公安局通知",)


def test_a_huge_text_is_cut_not_choked_on(checker: Checker) -> None:
    text = "请把钱转到安全账户。" + "今天天气很好，" * 5000
    assert "safe_account" in found(checker, text)


# -- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "公安局：你的账户涉嫌洗钱，请把钱转到安全账户。",
        "公安局：你的帳戶涉嫌洗錢，請把錢轉到安全帳戶。",
        "公安局：你的账户涉嫌洗钱，请把钱转到 安 全 账 户。",
        "公安局：你的账户涉嫌洗钱，请把钱转到安-全-账-户。",
        "公安局：你的账户涉嫌洗钱，请把钱转到ａｎ安全账户。",
    ],
)
def test_variants_raise_the_same_flags(checker: Checker, variant: str) -> None:
    assert {"safe_account", "fake_authority"} <= found(checker, variant)


def test_numbers_in_chinese_are_read(checker: Checker) -> None:
    assert "guaranteed_returns" in found(checker, "保证每月收益百分之三十")
    assert "task_pay" in found(checker, "兼职，每单佣金二十元")


def test_a_genuine_bank_code_is_not_a_request_for_it(checker: Checker) -> None:
    genuine = [
        "【中国银行】验证码：482913，您正在进行网上银行登录，5分钟内有效，切勿告诉他人。",
        "【邮储银行】您的验证码为820451，请勿将验证码告知任何人，包括银行工作人员。",
        "Your verification code is 738201. Never share this code with anyone.",
    ]
    for text in genuine:
        assert found(checker, text) == set(), text
    assert "share_code" in found(checker, "我是银行客服，请把刚收到的验证码告诉我。")


def test_warnings_that_name_the_tricks_are_not_scams(checker: Checker) -> None:
    assert found(checker, "【反诈提醒】凡是让你下载会议软件、开启屏幕共享的，都是诈骗！") == set()
    assert found(checker, "Anyone who asks you to share your screen is a scammer.") == set()
    assert found(checker, "公检法机关不会通过电话办案，不会要求转账到安全账户。") == set()


def test_flags_come_in_the_catalogues_order(checker: Checker, catalogue: RedFlags) -> None:
    flags = checker.flags("我是公安局的，这事保密，把验证码发给我，再把钱转到安全账户。")
    order = [c.id for c in catalogue.categories]
    assert [c.id for c in flags] == sorted((c.id for c in flags), key=order.index)
    assert len(flags) >= 3


# -- the command line ------------------------------------------------------------------------


def test_finlit_check_prints_one_line_per_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("妈，我换号了，急需用钱，先别告诉爸"))
    assert main(["check", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["urgency_secrecy", "new_number"]
    assert all(len(line.split("\t")) == 2 and line.split("\t")[1] for line in lines)


def test_finlit_check_prints_nothing_for_an_ordinary_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("妈，我明天下午坐高铁回家。"))
    assert main(["check"]) == 0
    assert capsys.readouterr().out == ""


def test_finlit_check_eval_reports_the_held_out_half(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-eval"]) == 0
    out = capsys.readouterr().out
    assert "half: held" in out and "scam messages flagged (recall)" in out
    for category in ISSUE_CATEGORIES:
        assert category in out
    assert main(["check-eval", "--half", "held", "--misses"]) != 0  # held-out stays unseen


# -- the corpus and the measured quality -----------------------------------------------------


def test_the_corpus_is_big_enough_and_labelled_with_catalogue_ids() -> None:
    corpus = Corpus.load(CORPUS)
    scams = [m for m in corpus.messages if m.scam]
    ordinary = [m for m in corpus.messages if not m.scam]
    assert len(scams) >= 150 and len(ordinary) >= 100
    assert {m.lang for m in scams} == {m.lang for m in ordinary} == {"zh", "en"}
    labels = {label for m in scams for label in m.labels}
    assert labels == ISSUE_CATEGORIES
    assert len({m.id for m in corpus.messages}) == len(corpus.messages)
    # Split once when it was written: about half of each kind in each half.
    for kind in (scams, ordinary):
        tune = sum(m.half == "tune" for m in kind)
        assert abs(2 * tune - len(kind)) <= 1
    raw = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    assert raw["seed"] == corpus.seed


def test_held_out_quality_does_not_fall_below_what_was_measured(checker: Checker) -> None:
    held = Corpus.load(CORPUS).half("held")
    evaluation = evaluate(checker, held)
    assert evaluation.scam_recall >= 0.90  # the issue's goal
    # The first run on the held-out half flagged 4 of 63 ordinary messages (6.3%); one change
    # made for the issue's own example (a bank's "切勿告诉他人" read as secrecy) brought it to 2
    # (3.2%). This guards against getting worse.
    assert evaluation.ordinary_flagged <= 2


# -- routing --------------------------------------------------------------------------------


async def _never() -> bool:
    raise AssertionError("asked_to_check must not be consulted")


async def _yes() -> bool:
    return True


async def _no() -> bool:
    return False


async def test_routing_rule() -> None:
    route = routing.route
    assert await route("/menu", forwarded=True, asked_to_check=_never) is routing.Route.CHECK
    assert await route("转到安全账户", forwarded=True, asked_to_check=_never) is routing.Route.CHECK
    assert await route("/check", forwarded=False, asked_to_check=_never) is routing.Route.COMMAND
    assert await route(" /menu", forwarded=False, asked_to_check=_never) is routing.Route.COMMAND
    assert await route("你好", forwarded=False, asked_to_check=_yes) is routing.Route.CHECK
    assert await route("你好", forwarded=False, asked_to_check=_no) is routing.Route.TYPED
