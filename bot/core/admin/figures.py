"""How a figure reads to an administrator: a withheld one as "<k" (or "withheld" when it was
hidden only because it would give another away), a share as a percentage."""

from __future__ import annotations

import dataclasses

from bot.core.literacy import Cell, cell
from bot.core.ui import AdminTexts


@dataclasses.dataclass(frozen=True)
class Figures:
    """Formats figures in one administrator's language, withholding below ``min_group``."""

    texts: AdminTexts
    min_group: int

    @property
    def hidden(self) -> str:
        return self.texts.hidden.format(k=self.min_group)

    def withheld(self, value: Cell) -> str:
        """A withheld figure: "<k" when it is about fewer than k residents; otherwise it was
        withheld to protect another (complementary suppression), and "<k" would misread it
        (3,000 residents sent an announcement must not read as "sent <5")."""
        return self.hidden if value.n < self.min_group else self.texts.withheld

    def count(self, value: Cell) -> str:
        if value.hidden:
            return self.withheld(value)
        return self.texts.none if value.value is None else f"{value.value:,}"

    def size(self, count: int) -> str:
        """A count of residents: "<k" when it is about fewer than k of them (0 is shown)."""
        return self.count(cell(count, count, self.min_group))

    def share(self, value: Cell) -> str:
        if value.hidden:
            return self.withheld(value)
        return self.texts.none if value.value is None else f"{float(value.value):.0%}"

    def signed(self, value: Cell) -> str:
        if value.hidden:
            return self.withheld(value)
        return self.texts.none if value.value is None else f"{float(value.value) * 100:+.0f}pp"

    def decimal(self, value: Cell, spec: str) -> str:
        """A mean or a median, as ``spec`` formats it (``g``, ``.1f``)."""
        if value.hidden:
            return self.withheld(value)
        return self.texts.none if value.value is None else format(value.value, spec)


def shown_share(value: Cell) -> float | None:
    """A share for a chart: None when withheld or not computable."""
    return None if value.hidden or value.value is None else float(value.value)


def short(text: str, limit: int) -> str:
    """The text on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
