"""Content checks for the fraud tools: redflags.yaml's examples, drills.yaml and loans.yaml.

Run by ``finlit content check`` (through ``bot.core.checks``). The screens the drills and the loan
calculator render are walked with every other screen by ``bot.core.checks.render``. Time-sensitive
figures are not problems but warnings: ``fraud_tool_warnings`` names each one last confirmed over
six months ago.
"""

from __future__ import annotations

import datetime as dt
import re
import string

from bot.core.content import Content, Problem
from bot.core.fraud.catalogue import REDFLAGS_FILE
from bot.core.fraud.checker import Checker
from bot.core.fraud.drill_book import DRILL_FILE
from bot.core.fraud.loan_book import LOANS_FILE
from bot.core.i18n import LANGUAGES
from bot.core.yaml_text import load_yaml

STALE_MONTHS = 6
# The scam-message checker's catalogue: drills name its categories (when it is there).
REDFLAGS_FILES = (REDFLAGS_FILE,)
_CJK = re.compile(r"[\u3400-\u9fff]")


def check_fraud_tools(content: Content) -> list[Problem]:
    """The checker's examples, the drills and the loan calculator (those content has)."""
    problems: list[Problem] = []
    problems += _check_examples(content)
    if content.drills is not None:
        problems += _check_drills(content)
    if content.loans is not None:
        problems += _check_placeholders(
            LOANS_FILE,
            {lang: dict(content.loans.texts[lang]) for lang in LANGUAGES},
        )
    return problems


def fraud_tool_warnings(content: Content, today: dt.date) -> list[str]:
    """Figures due for a re-check against their source (older than six months)."""
    if content.loans is None:
        return []
    return [
        f"{LOANS_FILE}: figures.{name}: {figure.percent:g}% was last confirmed on "
        f"{figure.as_of.isoformat()}, over {STALE_MONTHS} months ago: re-check it "
        f"({figure.source}) and update as_of"
        for name, figure in content.loans.figures.stale(today, months=STALE_MONTHS)
    ]


def _check_examples(content: Content) -> list[Problem]:
    """Each category's examples raise it: the catalogue proves its own patterns."""
    if content.redflags is None:
        return []
    checker = Checker(content.redflags)
    return [
        Problem(
            REDFLAGS_FILE,
            f"categories[{category.id}].examples",
            f"{category.id}: the example {example!r} does not raise it",
        )
        for category in content.redflags.categories
        for example in category.examples
        if category not in checker.flags(example)
    ]


def _check_drills(content: Content) -> list[Problem]:
    book = content.drills
    assert book is not None
    problems = _check_placeholders(DRILL_FILE, {lang: dict(book.texts[lang]) for lang in LANGUAGES})
    catalogue = redflag_ids(content)
    if catalogue is not None:
        for category in book.categories:
            if category.id not in catalogue:
                problems.append(
                    Problem(
                        DRILL_FILE,
                        f"categories[{category.id}]",
                        "not a category of the checker's catalogue (redflags.yaml)",
                    )
                )
    for drill in book.drills:
        texts = [drill.message, *(f.why for f in drill.flags)]
        if drill.genuine_because is not None:
            texts.append(drill.genuine_because)
        for text in texts:
            zh, en = text.get("zh"), text.get("en")
            if not _CJK.search(zh):
                problems.append(
                    Problem(DRILL_FILE, f"drills[{drill.id}]", "zh text has no Chinese")
                )
            if _CJK.search(en) and len(_CJK.findall(en)) * 2 > len(en):
                problems.append(Problem(DRILL_FILE, f"drills[{drill.id}]", "en text is Chinese"))
    return problems


def redflag_ids(content: Content) -> set[str] | None:
    """The category ids of the checker's catalogue, or None when the content has none yet."""
    for name in REDFLAGS_FILES:
        path = content.root / name
        if not path.is_file():
            continue
        raw = load_yaml(path.read_text(encoding="utf-8"))
        items = raw.get("categories", raw.get("flags", [])) if isinstance(raw, dict) else raw
        if isinstance(items, dict):
            return {str(key) for key in items}
        if isinstance(items, list):
            return {str(item["id"]) for item in items if isinstance(item, dict) and "id" in item}
    return None


def _check_placeholders(file: str, texts: dict[str, dict[str, object]]) -> list[Problem]:
    """Both languages' texts use the same {placeholders}."""
    problems = []
    first, *others = LANGUAGES
    for key, value in texts[first].items():
        names = _names(value)
        for other in others:
            theirs = _names(texts[other].get(key))
            if theirs != names:
                problems.append(
                    Problem(
                        file,
                        f"texts.{other}.{key}",
                        f"placeholders {sorted(theirs)} differ from {first}'s {sorted(names)}",
                    )
                )
    return problems


def _names(value: object) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(value) if name}
