"""The scam-message checker: which red flags of the catalogue a message shows.

Pure and in memory: the text is normalised, matched and dropped; nothing here stores or logs it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from bot.core.fraud.catalogue import Category, RedFlags, compile_pattern
from bot.core.fraud.normalise import compact, normalise

# How far before a match a negation still counts ("请勿将验证码告知他人"), in characters of the
# compact clause: Chinese packs a clause into a few characters, English (spaces dropped) into many.
NEGATION_REACH_ZH = 12
NEGATION_REACH_EN = 50


@dataclasses.dataclass(frozen=True)
class _Rule:
    category: Category
    # Each entry: patterns that must all match (one, or a co-occurrence group).
    entries: tuple[tuple[re.Pattern[str], ...], ...]


class Checker:
    """The catalogue compiled once; ``flags`` answers for one message."""

    def __init__(self, catalogue: RedFlags) -> None:
        self.catalogue = catalogue
        self._negation = _any_of(catalogue.negations)
        self._warning = _any_of(catalogue.warnings)
        self._rules = tuple(
            _Rule(
                category,
                tuple(
                    tuple(
                        compile_pattern(source, category.form)
                        for source in (entry if isinstance(entry, list) else [entry])
                    )
                    for entry in category.patterns
                ),
            )
            for category in catalogue.categories
        )

    def flags(self, text: str) -> tuple[Category, ...]:
        """The categories ``text`` shows, in the catalogue's order (none for a warning notice
        that names the tricks, such as "转到安全账户的都是诈骗")."""
        message = normalise(text, self.catalogue.folds)
        # The clauses, one per line: a compact pattern cannot match across a line break (it is
        # written with \w, never "."), so one search per pattern covers every clause.
        clauses = "\n".join(message.clauses)
        if self._warning is not None and self._warning.search(clauses):
            return ()
        return tuple(
            rule.category for rule in self._rules if self._shows(rule, message.raw, clauses)
        )

    def _shows(self, rule: _Rule, raw: str, clauses: str) -> bool:
        text = raw if rule.category.form == "raw" else clauses
        negatable = rule.category.negatable
        return any(
            all(self._matches(pattern, text, negatable) for pattern in entry)
            for entry in rule.entries
        )

    def _matches(self, pattern: re.Pattern[str], text: str, negatable: bool) -> bool:
        for match in pattern.finditer(text):
            if not negatable or self._negation is None:
                return True
            reach = NEGATION_REACH_EN if match.group(0).isascii() else NEGATION_REACH_ZH
            before = text[max(0, match.start() - reach) : match.start()]
            before = before[before.rfind("\n") + 1 :]  # within the match's own clause
            if not self._negation.search(compact(before)):
                return True
        return False


def _any_of(sources: Sequence[str]) -> re.Pattern[str] | None:
    if not sources:
        return None
    return re.compile("|".join("(?:" + re.sub(r"\s+", "", s) + ")" for s in sources))
