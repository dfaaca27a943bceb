"""THROWAWAY PLACEHOLDER (branch ask-channel): the real search comes from branch ask-engine and
replaces this whole file at merge. Substring matches on lesson titles and summaries, urgent on a
handful of phrases: just enough for the conversation to be built and tested against the seam.
"""

from __future__ import annotations

from bot.core.ask import Answer, Asker, Suggestion
from bot.core.content import Content
from bot.core.i18n import Language

_URGENT = (
    "安全账户",
    "已经转",
    "转过去了",
    "验证码",
    "屏幕共享",
    "共享屏幕",
    "冻结",
    "safe account",
    "already transferred",
    "already sent",
    "verification code",
    "share my screen",
    "screen sharing",
    "frozen",
    "police told me",
    "install this app",
)
_EXTRA = {"数字人民币": "ecny-what", "credit report": "credit-report"}


class _Placeholder:
    def __init__(self, content: Content) -> None:
        self.content = content

    def ask(self, text: str, language: Language) -> Answer:
        folded = text.lower()
        urgent = any(phrase in folded for phrase in _URGENT)
        found: list[Suggestion] = []
        for phrase, lesson_id in _EXTRA.items():
            lesson = self.content.curriculum.lesson(lesson_id)
            if phrase in folded and lesson is not None:
                found.append(Suggestion(lesson.id, lesson.summary.get(language)))
        for _, lesson in self.content.curriculum.lessons():
            title = lesson.title.get(language).lower()
            if len(found) < 3 and title in folded and lesson.id not in {s.lesson_id for s in found}:
                found.append(Suggestion(lesson.id, lesson.summary.get(language)))
        return Answer(urgent=urgent, suggestions=tuple(found[:3]))


def build_asker(content: Content) -> Asker:
    """The placeholder asker (see the module's docstring)."""
    return _Placeholder(content)
