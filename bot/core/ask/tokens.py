"""Text as the lesson index reads it: folded, synonyms made one, cut into terms.

Chinese is cut into overlapping character pairs (bigrams) and single characters: no dictionary
to load, and a typo (数子人民币) or an unknown word costs one pair, not the whole word. English is
cut into words, each reduced to its stem (Snowball), so "scammers" finds "scam". The text only
lives in memory here.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping, Sequence

import snowballstemmer

from bot.core.fraud.normalise import fold

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:['’][a-z]+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# Words that say nothing about the topic; without them a greeting scores nothing. Single
# Chinese characters that are grammar, not meaning (pairs such as 什么 are left to BM25's idf).
_STOP_EN_WORDS = (
    "a an the and or but of to in on at for with from by is are was were be been being am do "
    "does did doing have has had i me my we our you your he him his she her it its they them "
    "their this that these those there here what which who whom whose when where why how can "
    "could should would will shall may might must not no yes so if then than too very just "
    "about into out up down over again also any all some such only own same as s t d ll m re "
    "ve im dont cant isnt whats hows get got like please thank thanks hi hello hey ok okay"
)
STOP_EN = frozenset(_STOP_EN_WORDS.split())
STOP_ZH = frozenset("的了吗呢吧啊呀哦嘛么是我你他她它们在和与也都就还又很这那个")


class _Stemmer(threading.local):
    """One Snowball stemmer per thread (a stemmer keeps state while it works)."""

    def __init__(self) -> None:
        self.english = snowballstemmer.stemmer("english")

    def stem(self, word: str) -> str:
        return str(self.english.stemWord(word))


_STEMMER = _Stemmer()


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball stem of an English word (cached: the lessons have a few thousand words)."""
    return _STEMMER.stem(word)


class Synonyms:
    """Words that mean the same: each variant is read as the first word of its group."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self._usual: dict[str, str] = {}
        for group in groups:
            for term in group[1:]:
                self._usual[term] = group[0]
        # Longest first, so 征信报告 is read before 征信; Latin words only as whole words. The
        # lookahead and the word boundary let most positions fail at once (the lessons are long).
        ordered = sorted(self._usual, key=len, reverse=True)
        latin = "|".join(re.escape(term) for term in ordered if term.isascii())
        other = "|".join(re.escape(term) for term in ordered if not term.isascii())
        firsts = "".join(sorted({re.escape(term[0]) for term in ordered if not term.isascii()}))
        branches = ([rf"\b(?:{latin})s?\b"] if latin else []) + (
            [f"(?=[{firsts}])(?:{other})"] if other else []
        )
        self._pattern = re.compile("|".join(branches)) if branches else None

    def apply(self, folded: str) -> str:
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda match: self._usual[self._key(match.group(0))], folded)

    def _key(self, found: str) -> str:
        return found if found in self._usual else found[:-1]  # "loan apps" -> "loan app"


class Reader:
    """Folds, applies the synonyms and cuts a text into terms (the same for lessons and
    questions)."""

    def __init__(self, synonyms: Synonyms, folds: Mapping[str, str] | None = None) -> None:
        self.synonyms = synonyms
        self.folds = dict(folds or {})

    def terms(self, text: str) -> list[str]:
        """The index terms of ``text``, in order, repeats kept (BM25 counts them)."""
        return terms_of(self.synonyms.apply(fold(text, self.folds)))


def terms_of(text: str) -> list[str]:
    """Terms of a text already folded: Chinese pairs and characters, English stems."""
    found: list[str] = []
    for match in _RUNS.finditer(text):
        run = match.group(0)
        if _CJK.match(run):
            found += [ch for ch in run if ch not in STOP_ZH]
            found += [run[i : i + 2] for i in range(len(run) - 1)]
        elif run.isdigit():
            found.append(run)
        else:
            word = run.replace("’", "'").split("'")[0]
            if word not in STOP_EN:
                found.append(stem(word))
    return found
