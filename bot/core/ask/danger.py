"""Is a typed text a fraud in progress (or money just sent), or a question about fraud?

Read in memory and forgotten. A question ABOUT a scam ("什么是安全账户诈骗？") names the same
tricks as a scam happening now ("有人让我把钱转到安全账户"), so the phrases of content/ask.yaml
weigh what the resident says happened (``acted``), what someone is making them do now
(``pressure``), and whether they ask in general or imagine (``general``, ``hypothetical``);
the red flags of the scam-message checker count when the text is not a question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.ask.book import Danger
from bot.core.fraud.catalogue import RedFlags
from bot.core.fraud.checker import Checker
from bot.core.fraud.normalise import fold

# Clause boundaries, as the checker has them: sentence punctuation, commas, line breaks, ". ".
_CLAUSE_BREAK = re.compile(r"[。！？!?；;，,：:、\n\r]+|\.\s+|\.$")
_NOT_KEPT = re.compile(r"[^0-9a-z%\u3400-\u4dbf\u4e00-\u9fff]+")
_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u4dbf\u4e00-\u9fff]) (?=[\u3400-\u4dbf\u4e00-\u9fff])")


def clauses(folded: str) -> list[str]:
    """The clauses of a folded text: symbols and spaces one space, none between Chinese
    characters ("验 证 码" reads "验证码"; English keeps its word breaks)."""
    found = []
    for piece in _CLAUSE_BREAK.split(folded):
        clause = _BETWEEN_CJK.sub("", _NOT_KEPT.sub(" ", piece)).strip()
        if clause:
            found.append(clause)
    return found


def _any_of(sources: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{source})" for source in sources))


class DangerReader:
    """content/ask.yaml's danger phrases and the red-flag catalogue, compiled once."""

    def __init__(self, danger: Danger, redflags: RedFlags | None) -> None:
        self._acted = _any_of(danger.acted)
        self._pressure = _any_of(danger.pressure)
        self._hypothetical = _any_of(danger.hypothetical)
        self._general = _any_of(danger.general)
        self._asking = _any_of(danger.asking)
        self._folds = dict(redflags.folds) if redflags is not None else {}
        self._checker = Checker(redflags) if redflags is not None and danger.flags else None
        self._flags = frozenset(danger.flags)

    def urgent(self, text: str) -> bool:
        """Whether ``text`` describes a fraud in progress or money already sent."""
        parts = clauses(fold(text, self._folds))
        for clause in parts:
            for match in self._acted.finditer(clause):
                if not self._hypothetical.search(clause[: match.start()]):
                    return True
        general = any(self._general.search(c) or self._hypothetical.search(c) for c in parts)
        if general:
            return False
        if any(self._pressure.search(clause) for clause in parts):
            return True
        if self._checker is None or any(self._asking.search(clause) for clause in parts):
            return False
        return any(category.id in self._flags for category in self._checker.flags(text))
