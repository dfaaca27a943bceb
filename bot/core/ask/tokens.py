"""Text as the lesson index reads it: folded, synonyms made one, cut into terms.

Chinese is cut into overlapping character pairs (bigrams) and single characters: no dictionary
to load, and a typo (数子人民币) or an unknown word costs one pair, not the whole word. English is
cut into words, each reduced to its Snowball stem (PyStemmer, compiled), so "scammers" finds
"scam". The text only
lives in memory here.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Mapping, Sequence

import Stemmer

from bot.core.fraud.normalise import MAX_CHARS, fold

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:['’][a-z]+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# fold() keeps the first MAX_CHARS of a text; lessons' sentences are folded in batches below it.
_BATCH_CHARS = MAX_CHARS - 1

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
    """One Snowball stemmer per thread (a stemmer is not safe to share between threads)."""

    def __init__(self) -> None:
        self.english = Stemmer.Stemmer("english")

    def stem(self, word: str) -> str:
        return str(self.english.stemWord(word))


_STEMMER = _Stemmer()


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball stem of an English word (cached: the lessons have a few thousand words)."""
    return _STEMMER.stem(word)


def _whole_terms(terms: Sequence[str]) -> re.Pattern[str] | None:
    """One pattern for all ``terms``, longest first (征信报告 before 征信); Latin ones only as
    whole words, with a plural "s". The lookahead and the word boundary let most positions of a
    long text fail at once."""
    ordered = sorted(set(terms), key=len, reverse=True)
    latin = "|".join(re.escape(term) for term in ordered if term.isascii())
    other = "|".join(re.escape(term) for term in ordered if not term.isascii())
    firsts = "".join(sorted({re.escape(term[0]) for term in ordered if not term.isascii()}))
    branches = ([rf"\b(?:{latin})s?\b"] if latin else []) + (
        [f"(?=[{firsts}])(?:{other})"] if other else []
    )
    return re.compile("|".join(branches)) if branches else None


class Synonyms:
    """Words that mean the same: each variant is read as the first word of its group."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self._usual: dict[str, str] = {}
        for group in groups:
            for term in group[1:]:
                self._usual[term] = group[0]
        self._pattern = _whole_terms(list(self._usual))

    def apply(self, folded: str) -> str:
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda match: self._usual[self._key(match.group(0))], folded)

    def _key(self, found: str) -> str:
        return found if found in self._usual else found[:-1]  # "loan apps" -> "loan app"


class Reader:
    """Folds, applies the synonyms and cuts a text into terms (the same for lessons and
    questions)."""

    def __init__(
        self,
        synonyms: Synonyms,
        folds: Mapping[str, str] | None = None,
        fillers: Sequence[str] = (),
    ) -> None:
        self.synonyms = synonyms
        self.folds = dict(folds or {})
        self._fillers = _whole_terms(fillers)

    def _read(self, folded: str) -> str:
        if self._fillers is not None:
            folded = self._fillers.sub(" ", folded)
        return self.synonyms.apply(folded)

    def terms(self, text: str) -> list[str]:
        """The index terms of ``text``, in order, repeats kept (BM25 counts them)."""
        return terms_of(self._read(fold(text, self.folds)))

    def terms_of_lines(self, lines: Sequence[str]) -> list[list[str]]:
        """``terms`` of each of many one-line texts (the lessons' sentences), folded a batch at
        a time: the same terms, a fraction of the time."""
        found: list[list[str]] = []
        batch: list[str] = []
        size = 0
        for line in [*lines, None]:
            if line is None or size + len(line) + 1 > _BATCH_CHARS:
                folded = self._read(fold("\n".join(batch), self.folds)).split("\n")
                if len(folded) != len(batch):  # a fold that joined lines: one at a time
                    folded = [self._read(fold(text, self.folds)) for text in batch]
                found += [terms_of(text) for text in folded]
                batch, size = [], 0
            if line is not None:
                if "\n" in line or len(line) >= _BATCH_CHARS:
                    raise ValueError("terms_of_lines takes lines shorter than a batch")
                batch.append(line)
                size += len(line) + 1
        return found


def terms_of(text: str) -> list[str]:
    """Terms of a text already folded: Chinese pairs and characters, English stems."""
    found: list[str] = []
    for match in _RUNS.finditer(text):
        run = match.group(0)
        if _CJK.match(run):
            found += [ch for ch in run if ch not in STOP_ZH]
            found += [a + b for a, b in itertools.pairwise(run)]
        elif run.isdigit():
            found.append(run)
        else:
            word = run.replace("’", "'").split("'")[0]
            if word not in STOP_EN:
                found.append(stem(word))
    return found
