"""The screens of "ask in your own words" (issue 17): urgent advice, the lessons found for a
typed question, and the kind line when nothing was found."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import callbacks as cb
from bot.core.content import Content
from bot.core.curriculum import Lesson
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.core.replies import Button, Keyboard, Screen

# A reason is one line under a lesson's title: longer ones are cut, with an ellipsis.
REASON_CHARACTERS = 80


def urgent(content: Content, language: Language) -> Screen:
    """Stop, hang up, share no code; 110 if money is gone; 96110 for advice. No buttons: the
    next message (the after-fraud lesson) carries them."""
    return Screen(content.render("ask_urgent.html.j2", language))


def reason_line(reason: str) -> str:
    """The matching sentence as one plain line: markup dropped, cut to fit."""
    line = " ".join(visible_text(reason).split())
    if len(line) > REASON_CHARACTERS:
        line = line[: REASON_CHARACTERS - 1].rstrip() + "…"
    return line


def found(content: Content, language: Language, lessons: Sequence[tuple[Lesson, str]]) -> Screen:
    """The lessons found for a typed question, best first, each with its reason and a button."""
    ui = content.ui[language]
    shown = [(lesson.title.get(language), reason_line(reason)) for lesson, reason in lessons]
    text = content.render("ask_found.html.j2", language, found=shown)
    rows: list[tuple[Button, ...]] = [
        (Button.of(ui.btn_ask_lesson.format(title=title), cb.AskOpen(lesson.id)),)
        for (lesson, _), (title, _) in zip(lessons, shown, strict=True)
    ]
    rows.append((Button.of(ui.btn_menu, cb.Menu()),))
    return Screen(text, tuple(rows))


def nothing_found(content: Content, language: Language) -> Screen:
    """One kind line, then the topics to look through."""
    ui = content.ui[language]
    text = content.render("notice.html.j2", language, text=ui.ask_nothing)
    keyboard: Keyboard = (
        *(
            (Button.of(t.title.get(language), cb.OpenTopic(t.id)),)
            for t in content.curriculum.topics
        ),
        (Button.of(ui.btn_menu, cb.Menu()),),
    )
    return Screen(text, keyboard)
