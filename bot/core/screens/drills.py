"""The spot-the-scam drills' screens: a drill with its three answers, then why."""

from __future__ import annotations

from typing import Literal

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.fraud.drill_book import Drill, DrillTexts
from bot.core.i18n import Language
from bot.core.replies import Button, Keyboard, Screen

AnswerName = Literal["scam", "genuine", "unsure"]
# The answer buttons, in order; callback data carries the position.
ANSWERS: tuple[AnswerName, ...] = ("scam", "genuine", "unsure")


def _texts(content: Content, language: Language) -> DrillTexts:
    assert content.drills is not None
    return content.drills.texts[language]


def _kind(texts: DrillTexts, drill: Drill) -> str:
    return {
        "sms": texts.kind_sms,
        "call": texts.kind_call,
        "chat": texts.kind_chat,
        "notice": texts.kind_notice,
    }[drill.kind]


def drill_screen(content: Content, language: Language, index: int, drill: Drill) -> Screen:
    texts = _texts(content, language)
    book = content.drills
    assert book is not None
    ui = content.ui[language]
    labels = (texts.btn_scam, texts.btn_genuine, texts.btn_unsure)
    keyboard: Keyboard = (
        tuple(Button.of(label, cb.DrillAnswer(drill.id, i)) for i, label in enumerate(labels)),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    text = content.render(
        "drill.html.j2",
        language,
        texts=texts,
        first=index == 0,
        position=texts.position.format(number=index + 1, total=len(book.drills)),
        kind=_kind(texts, drill),
        message=drill.message.get(language),
    )
    return Screen(text, keyboard)


def feedback_screen(
    content: Content, language: Language, drill: Drill, answer: AnswerName
) -> Screen:
    texts = _texts(content, language)
    book = content.drills
    assert book is not None
    ui = content.ui[language]
    if answer == "unsure":
        judgement = texts.unsure
    else:
        judgement = texts.right if answer == drill.verdict else texts.wrong
    flags = [
        (
            book.category_name(flag.category, language),
            flag.quote.get(language),
            flag.why.get(language),
        )
        for flag in drill.flags
    ]
    keyboard: Keyboard = (
        (Button.of(texts.btn_next_drill, cb.DrillNext()),),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    text = content.render(
        "drill_feedback.html.j2",
        language,
        texts=texts,
        judgement=judgement,
        verdict=texts.verdict_scam if drill.verdict == "scam" else texts.verdict_genuine,
        kind=_kind(texts, drill),
        message=drill.message.get(language),
        flags=flags,
        genuine_because=drill.genuine_because.get(language) if drill.genuine_because else None,
    )
    return Screen(text, keyboard)
