"""The checker measured on a labelled corpus: precision and recall per category and overall.

The corpus (tests/fixtures/scam_corpus.yaml) was split once, at random, into a tuning half and a
held-out half; patterns are tuned on the first, figures are reported on the second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.fraud.checker import Checker
from bot.core.i18n import Language
from bot.core.yaml_text import load_yaml

Half = Literal["tune", "held"]


class LabelledMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    lang: Language
    half: Half
    labels: list[str]
    text: Annotated[str, Field(min_length=1)]

    @property
    def scam(self) -> bool:
        return bool(self.labels)


class Corpus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int
    messages: list[LabelledMessage]

    @classmethod
    def load(cls, path: Path) -> Corpus:
        return cls.model_validate(load_yaml(path.read_text(encoding="utf-8")))

    def half(self, which: Half | None) -> list[LabelledMessage]:
        return [m for m in self.messages if which is None or m.half == which]


@dataclasses.dataclass(frozen=True)
class Tally:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0

    @property
    def precision(self) -> float | None:
        flagged = self.true_pos + self.false_pos
        return self.true_pos / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        labelled = self.true_pos + self.false_neg
        return self.true_pos / labelled if labelled else None


@dataclasses.dataclass(frozen=True)
class Miss:
    """One disagreement, for whoever tunes the patterns (on the tuning half only)."""

    id: str
    expected: tuple[str, ...]
    found: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    scams: int
    scams_flagged: int
    ordinary: int
    ordinary_flagged: int
    per_category: dict[str, Tally]
    labels: Tally  # every (message, category) pair, micro-averaged
    misses: tuple[Miss, ...]

    @property
    def scam_recall(self) -> float:
        return self.scams_flagged / self.scams if self.scams else 0.0

    @property
    def ordinary_flag_rate(self) -> float:
        return self.ordinary_flagged / self.ordinary if self.ordinary else 0.0


def evaluate(checker: Checker, messages: Iterable[LabelledMessage]) -> Evaluation:
    """Run the checker over ``messages`` and compare with their labels."""
    ids = [c.id for c in checker.catalogue.categories]
    counts = {i: [0, 0, 0] for i in ids}
    scams = scams_flagged = ordinary = ordinary_flagged = 0
    misses: list[Miss] = []
    for message in messages:
        found = {c.id for c in checker.flags(message.text)}
        expected = set(message.labels)
        if message.scam:
            scams += 1
            scams_flagged += bool(found)
        else:
            ordinary += 1
            ordinary_flagged += bool(found)
        for category in ids:
            if category in found and category in expected:
                counts[category][0] += 1
            elif category in found:
                counts[category][1] += 1
            elif category in expected:
                counts[category][2] += 1
        if found != expected:
            misses.append(Miss(message.id, tuple(sorted(expected)), tuple(sorted(found))))
    per_category = {i: Tally(*counts[i]) for i in ids}
    labels = Tally(*(sum(t[k] for t in counts.values()) for k in range(3)))
    return Evaluation(
        scams, scams_flagged, ordinary, ordinary_flagged, per_category, labels, tuple(misses)
    )


def _share(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


def report(evaluation: Evaluation, *, title: str, goals: bool = True) -> Sequence[str]:
    """The figures as lines of text."""
    e = evaluation
    lines = [
        title,
        f"{'category':<22}{'precision':>10}{'recall':>10}{'flagged':>9}{'labelled':>9}",
    ]
    for category, tally in e.per_category.items():
        lines.append(
            f"{category:<22}{_share(tally.precision):>10}{_share(tally.recall):>10}"
            f"{tally.true_pos + tally.false_pos:>9}{tally.true_pos + tally.false_neg:>9}"
        )
    lines.append(
        f"{'all categories':<22}{_share(e.labels.precision):>10}{_share(e.labels.recall):>10}"
        f"{e.labels.true_pos + e.labels.false_pos:>9}{e.labels.true_pos + e.labels.false_neg:>9}"
    )
    recall_goal = "met" if e.scam_recall >= 0.90 else "NOT met"
    flag_goal = "met" if e.ordinary_flag_rate <= 0.05 else "NOT met"
    lines += [
        "",
        f"scam messages flagged (recall):    {e.scams_flagged}/{e.scams} = "
        f"{e.scam_recall:.1%}" + (f"   goal >= 90%: {recall_goal}" if goals else ""),
        f"ordinary messages flagged:         {e.ordinary_flagged}/{e.ordinary} = "
        f"{e.ordinary_flag_rate:.1%}" + (f"   goal <= 5%: {flag_goal}" if goals else ""),
    ]
    return lines
