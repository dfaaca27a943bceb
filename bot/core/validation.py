"""Small checks that the content's pydantic models share, so each says a problem the same way."""

from __future__ import annotations

from collections.abc import Container, Iterable

from bot.core.i18n import LANGUAGES, Language


def repeated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, sorted (to name them in one error)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for value in values:
        (twice if value in seen else seen).add(value)
    return sorted(twice)


def missing_languages(texts: Container[Language]) -> list[Language]:
    """The supported languages that ``texts`` has no entry for, in the usual order."""
    return [language for language in LANGUAGES if language not in texts]
