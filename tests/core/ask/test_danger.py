"""Danger first (issue 17): a fraud in progress or money just sent is urgent; a question ABOUT a
scam, or one that only imagines it, is not."""

from __future__ import annotations

import pytest

from bot.core.ask import Asker
from bot.core.ask.danger import clauses
from bot.core.ask.search import build_asker
from bot.core.content import Content
from bot.core.fraud.normalise import fold
from bot.core.i18n import Language


@pytest.fixture(scope="module")
def asker(content: Content) -> Asker:
    return build_asker(content)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("有人让我把钱转到安全账户", "zh"),
        ("对方叫我下个腾讯会议把屏幕共享给他", "zh"),
        ("我已经汇了５０００块，现在人找不到了", "zh"),
        ("公安让我把存款转过去配合调查", "zh"),
        ("客服说我的账户要被冻结了，叫我马上操作", "zh"),
        ("我已經交了三次解凍費", "zh"),  # Traditional
        ("我 刚 把 验 证 码 告 诉 了 他", "zh"),  # spaced out
        ("I have already paid 3000 into the account the officer gave me", "en"),
        ("someone says my bank account will be frozen unless I move my money", "en"),
        ("the police told me to transfer the money and keep it secret", "en"),
        ("help, I think I've been cheated", "en"),
    ],
)
def test_a_fraud_in_progress_is_urgent(asker: Asker, text: str, language: Language) -> None:
    assert asker.ask(text, language).urgent


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("什么是安全账户诈骗？", "zh"),
        ("冒充公检法的电话是怎么骗人的", "zh"),
        ("共享屏幕的骗局是怎么回事", "zh"),
        ("要是哪天被骗了该找谁", "zh"),
        ("骗子为什么老说账户要冻结", "zh"),
        ("警察会不会打电话让老百姓转账", "zh"),
        ("验证码能告诉客服吗", "zh"),
        ("how do scammers use screen sharing?", "en"),
        ("if a policeman told me to move money, would it be fake?", "en"),
        ("what would I do if scammers got my money one day", "en"),
        ("is it safe to install the anti-fraud app", "en"),
        ("i moved to shenzhen for work, does my credit history follow me", "en"),
    ],
)
def test_a_question_about_a_scam_is_not_urgent(asker: Asker, text: str, language: Language) -> None:
    assert not asker.ask(text, language).urgent


def test_urgent_texts_are_offered_the_after_fraud_lessons(asker: Asker, content: Content) -> None:
    assert content.ask is not None
    answer = asker.ask("我刚才把钱转给了自称公安的人", "zh")
    assert answer.urgent
    assert [s.lesson_id for s in answer.suggestions] == content.ask.danger.lessons
    assert all(s.reason and "\n" not in s.reason for s in answer.suggestions)


def test_clauses_drop_symbols_and_spaces_between_chinese_characters() -> None:
    assert clauses(fold("验 证-码，告诉 了他. I already paid!")) == [
        "验证码",
        "告诉了他",
        "i already paid",
    ]
