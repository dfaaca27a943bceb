"""The asker: danger first, then the lessons that answer a typed text (BM25 over the
curriculum).

One document per lesson: its titles, summaries, cards, quiz questions and explanations in both
languages (title and summary count ``HEADLINE_WEIGHT`` times), read by ``tokens.Reader``. A text
gets up to three lessons, best first, when it meets them on a topic word and the best clears the
thresholds below (off-topic texts get none), each with the sentence of that lesson, in the
language asked for, that shares most with the text. A text that describes a fraud in progress
(``danger.DangerReader``) is urgent and gets the after-fraud lessons of content/ask.yaml instead.
Built once (``build_asker``), then read-only: ``ask`` may be called from any thread. Nothing is
stored or logged.
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import re

from rank_bm25 import BM25Okapi

from bot.core.ask import Answer, Asker, Suggestion
from bot.core.ask.book import AskBook
from bot.core.ask.danger import DangerReader
from bot.core.ask.tokens import Reader, Synonyms
from bot.core.content import Content
from bot.core.curriculum import Lesson
from bot.core.i18n import LANGUAGES, Language

MAX_SUGGESTIONS = 3
HEADLINE_WEIGHT = 3
# Lessons are offered only when the best one scores at least MIN_SCORE (BM25) and holds at least
# MIN_COVERAGE of what the text says (its terms weighted by idf; a term no lesson has weighs the
# most: "猪肉最近涨价了没" shares 涨价 with a lesson, and little else); then each lesson scoring
# at least RELATIVE_SCORE of the best. Tuned on tests/fixtures/ask/tuning.yaml only.
MIN_SCORE = 2.5
MIN_COVERAGE = 0.26
RELATIVE_SCORE = 0.4
# A misspelt English word (of at least TYPO_MIN_LETTERS) is read as the lessons' word that
# difflib finds at least this similar.
TYPO_MIN_LETTERS = 5
TYPO_CUTOFF = 0.8
# A reason fits on one line under a button: this many characters, Chinese counting two.
REASON_COLUMNS = 64
# A sentence of this many terms counts half as much again as a short one of the same matches.
REASON_TERMS = 80
# A sentence with fewer terms than this ("改了支付密码。") says too little out of its card to
# stand as a reason; titles and summaries always may.
REASON_MIN_TERMS = 12

_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s+|\n+")
_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)


@dataclasses.dataclass(frozen=True)
class _Sentence:
    text: str
    terms: frozenset[str]
    headline: bool


@dataclasses.dataclass(frozen=True)
class _Entry:
    lesson_id: str
    sentences: dict[Language, tuple[_Sentence, ...]]


class Search:
    """The curriculum indexed; ``ask`` answers one text."""

    def __init__(self, content: Content, book: AskBook | None) -> None:
        synonyms = Synonyms(book.synonyms if book is not None else [])
        folds = content.redflags.folds if content.redflags is not None else {}
        self._reader = Reader(synonyms, folds, book.fillers if book is not None else ())
        self._danger = DangerReader(book.danger, content.redflags) if book is not None else None
        urgent_lessons = book.danger.lessons if book is not None else []
        entries: list[_Entry] = []
        documents: list[list[str]] = []
        for _, lesson in content.curriculum.lessons():
            entry, document = self._index(lesson)
            entries.append(entry)
            documents.append(document)
        self._entries = tuple(entries)
        self._by_id = {entry.lesson_id: entry for entry in entries}
        # (the content check names an unknown one; it is skipped here)
        self._urgent_lessons = tuple(i for i in urgent_lessons if i in self._by_id)
        self._bm25 = BM25Okapi(documents)
        self._idf: dict[str, float] = {term: float(v) for term, v in self._bm25.idf.items()}
        self._unknown_idf = max(self._idf.values(), default=1.0)
        # English words of the lessons by first letter, for typos ("recieve", "paymnet").
        by_letter: dict[str, list[str]] = {}
        for term in self._idf:
            if term.isascii() and term.isalpha() and len(term) >= TYPO_MIN_LETTERS:
                by_letter.setdefault(term[0], []).append(term)
        self._english = {letter: tuple(words) for letter, words in by_letter.items()}
        self._terms: tuple[frozenset[str], ...] = tuple(frozenset(d) for d in documents)
        # What the lessons are about: the words of their titles and summaries (single Chinese
        # characters are too common to say it). A text shares at least one with the lesson
        # offered, or it is about something else ("今天晚上吃饺子" meets a story, not a topic).
        self._topical = frozenset(
            term
            for entry in entries
            for language in LANGUAGES
            for sentence in entry.sentences[language]
            if sentence.headline
            for term in sentence.terms
            if len(term) > 1 or term.isascii()
        )

    def _index(self, lesson: Lesson) -> tuple[_Entry, list[str]]:
        lines: list[tuple[Language, int, str]] = []
        for language in LANGUAGES:
            headline = [lesson.title.get(language), lesson.summary.get(language)]
            body = [card.get(language) for card in lesson.cards]
            for question in lesson.quiz:
                body += [question.prompt.get(language), question.explanation.get(language)]
            for weight, texts in ((HEADLINE_WEIGHT, headline), (1, body)):
                lines += [(language, weight, s) for text in texts for s in _sentences(text)]
        document: list[str] = []
        found: dict[Language, list[_Sentence]] = {language: [] for language in LANGUAGES}
        all_terms = self._reader.terms_of_lines([sentence for _, _, sentence in lines])
        for (language, weight, sentence), terms in zip(lines, all_terms, strict=True):
            document += terms * weight
            if weight > 1 or len(terms) >= REASON_MIN_TERMS:  # a title always, to name it
                found[language].append(_Sentence(sentence, frozenset(terms), weight > 1))
        sentences = {language: tuple(found[language]) for language in LANGUAGES}
        return _Entry(lesson.id, sentences), document

    def ask(self, text: str, language: Language) -> Answer:
        """Danger first, then up to three lessons, best first."""
        urgent = self._danger is not None and self._danger.urgent(text)
        terms = self._spelled(self._reader.terms(text))
        if urgent and self._urgent_lessons:
            return Answer(True, tuple(self._headline(i, language) for i in self._urgent_lessons))
        return Answer(urgent, self._search(terms, language))

    def _spelled(self, terms: list[str]) -> list[str]:
        """An English word no lesson has, read as the lessons' closest word (difflib), if one
        is close enough: residents type "recieve" and "paymnet"."""
        spelled = []
        for term in terms:
            if term not in self._idf and term.isascii() and len(term) >= TYPO_MIN_LETTERS:
                close = difflib.get_close_matches(
                    term, self._english.get(term[0], ()), n=1, cutoff=TYPO_CUTOFF
                )
                term = close[0] if close else term
            spelled.append(term)
        return spelled

    def lesson_scores(self, text: str) -> list[tuple[str, float]]:
        """Every lesson's score for ``text``, best first (for tuning and the bench)."""
        scores = self._bm25.get_scores(self._spelled(self._reader.terms(text)))
        ranked = sorted(
            (
                (entry.lesson_id, float(score))
                for entry, score in zip(self._entries, scores, strict=True)
            ),
            key=lambda pair: -pair[1],
        )
        return ranked

    def _search(self, terms: list[str], language: Language) -> tuple[Suggestion, ...]:
        asked = frozenset(terms)
        topical = asked & self._topical
        if not topical:
            return ()
        scores = self._bm25.get_scores(terms)
        # Only lessons the text meets on their topic, not just in a story's words.
        ranked = sorted(
            (i for i in range(len(self._entries)) if topical & self._terms[i]),
            key=lambda i: -float(scores[i]),
        )
        if not ranked:
            return ()
        best = float(scores[ranked[0]])
        if best < MIN_SCORE or self.coverage(asked, ranked[0]) < MIN_COVERAGE:
            return ()
        return tuple(
            Suggestion(self._entries[i].lesson_id, self._reason(self._entries[i], asked, language))
            for i in ranked[:MAX_SUGGESTIONS]
            if float(scores[i]) >= RELATIVE_SCORE * best
        )

    def coverage(self, asked: frozenset[str], index: int) -> float:
        """The share of the text's terms (weighted by idf) that lesson ``index`` has."""
        weights = {term: self._idf.get(term, self._unknown_idf) for term in asked}
        total = sum(weights.values())
        found = sum(weight for term, weight in weights.items() if term in self._terms[index])
        return found / total if total else 0.0

    def _reason(self, entry: _Entry, asked: frozenset[str], language: Language) -> str:
        sentences = entry.sentences[language]
        # What the sentence shares with the text, a long sentence discounted (it shares more by
        # chance, and is cut to fit): the title often says it best.
        best = max(
            sentences,
            key=lambda s: (
                sum(self._idf.get(term, 0.0) for term in s.terms & asked)
                / (1 + len(s.terms) / REASON_TERMS)
            ),
        )
        return one_line(best.text)

    def _headline(self, lesson_id: str, language: Language) -> Suggestion:
        entry = self._by_id[lesson_id]
        # The summary: the first sentence after the title.
        sentences = entry.sentences[language]
        return Suggestion(lesson_id, one_line(sentences[min(1, len(sentences) - 1)].text))


def build_asker(content: Content) -> Asker:
    """The asker for this content (indexes the curriculum: about a second at most)."""
    return Search(content, content.ask)


def _sentences(text: str) -> list[str]:
    plain = html.unescape(_TAG.sub("", text))
    return [s.strip() for s in _SENTENCE_END.split(plain) if s and s.strip()]


def one_line(sentence: str, columns: int = REASON_COLUMNS) -> str:
    """``sentence`` on one line of at most ``columns`` (Chinese characters count two)."""
    flat = " ".join(sentence.split())
    width = 0
    for index, ch in enumerate(flat):
        width += 2 if _WIDE.match(ch) else 1
        if width > columns - 1:
            return flat[:index].rstrip(" ，,、；;：:") + "…"
    return flat
