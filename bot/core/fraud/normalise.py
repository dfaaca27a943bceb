"""Text as the red-flag patterns read it: one script, one width, one way to write a number.

Scam texts are written to slip past filters: Traditional characters, full-width letters, spaces
or symbols between the characters of a telltale word, amounts in Chinese numerals. ``normalise``
undoes all of that, so a pattern is written once, in Simplified Chinese and lower case. The text
only ever lives in memory here.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Mapping

import opencc

# Longer texts are cut: Telegram's own limit is 4096 characters, and a pasted essay must not hold
# a handling slot for long. A scam's telltale words come early.
MAX_CHARS = 5_000

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_NUMERAL_CHARS = "".join([*_DIGITS, *_UNITS, *_BIG])
_NUMERAL_RUN = re.compile(f"[{_NUMERAL_CHARS}]{{2,}}")
_PERCENT = re.compile(f"百分之([{_NUMERAL_CHARS}0-9]+)")
# Clause boundaries: sentence punctuation, commas, colons, line breaks, and ". " in English.
_CLAUSE_BREAK = re.compile(r"[。！？!?；;，,：:、\n\r]+|\.\s+|\.$")
# What survives in a compact clause: letters, digits, Chinese characters and "%".
_NOT_KEPT = re.compile(r"[^0-9a-z%\u3400-\u4dbf\u4e00-\u9fff]+")


@dataclasses.dataclass(frozen=True)
class Normalised:
    """A message as the patterns read it.

    ``raw`` keeps punctuation (web addresses are matched there); each of ``clauses`` keeps only
    letters, digits, Chinese characters and "%", so inserted spaces and symbols vanish.
    """

    raw: str
    clauses: tuple[str, ...]


@functools.cache
def _converter() -> opencc.OpenCC:
    # Character by character: a phrase converter (tw2sp) would also rewrite Simplified text
    # (停用 -> 禁用). Regional words (螢幕 -> 萤幕, not 屏幕) are folded by the catalogue.
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese (and its regional phrasings) as Simplified; other text unchanged."""
    return str(_converter().convert(text))


def chinese_number(run: str) -> int | None:
    """The value of a run of Chinese numerals (``伍仟`` 5000, ``二十`` 20, ``十五`` 15), or None
    when it does not read as one number."""
    if all(ch in _DIGITS for ch in run):
        return int("".join(str(_DIGITS[ch]) for ch in run))  # 二零二六: digit by digit
    total = section = digit = 0
    seen_digit = False
    for ch in run:
        if ch in _DIGITS:
            if seen_digit:
                return None  # two digits in a row within a number with units: not a number
            digit, seen_digit = _DIGITS[ch], True
        elif ch in _UNITS:
            section += (digit if seen_digit else 1) * _UNITS[ch]
            digit, seen_digit = 0, False
        else:
            big = _BIG[ch]
            section += digit
            if section == 0:
                return None
            total += section * big
            section = digit = 0
            seen_digit = False
    return total + section + digit


def _number_run(match: re.Match[str]) -> str:
    run = match.group(0)
    # Leading units are words, not amounts: 千万别 (never), 万一 (in case).
    lead = len(run) - len(run.lstrip("百佰千仟万亿"))
    head, body = run[:lead], run[lead:]
    if len(body) < 2:
        return run
    value = chinese_number(body)
    return run if value is None else head + str(value)


def numbers_as_digits(text: str) -> str:
    """Chinese numbers of two characters or more as digits; 百分之三十 as 30%."""
    text = _PERCENT.sub(lambda m: _percent(m.group(1)), text)
    return _NUMERAL_RUN.sub(_number_run, text)


def _percent(amount: str) -> str:
    if amount.isascii():
        return amount + "%"
    value = chinese_number(amount) if len(amount) > 1 else _DIGITS.get(amount)
    return f"百分之{amount}" if value is None else f"{value}%"


def fold(text: str, folds: Mapping[str, str] | None = None) -> str:
    """Full width to normal width, lower case, Simplified Chinese, the variants in ``folds``,
    and Chinese numbers as digits. Punctuation stays."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    text = to_simplified(text)
    for variant, usual in (folds or {}).items():
        text = text.replace(variant, usual)
    return numbers_as_digits(text)


def compact(text: str) -> str:
    """Only letters, digits, Chinese characters and "%": "验 证-码" reads "验证码"."""
    return _NOT_KEPT.sub("", text)


def normalise(text: str, folds: Mapping[str, str] | None = None) -> Normalised:
    """A message ready for matching (see ``Normalised``)."""
    raw = fold(text, folds)
    clauses: list[str] = []
    carry = ""
    for piece in _CLAUSE_BREAK.split(raw):
        squeezed = carry + compact(piece)
        # One character between two breaks is a word spelt out with punctuation ("公。安。局"):
        # it joins the next piece instead of standing as a clause of its own.
        if len(squeezed) - len(carry) <= 1:
            carry = squeezed
            continue
        clauses.append(squeezed)
        carry = ""
    if carry:
        clauses.append(carry)
    return Normalised(raw=raw, clauses=tuple(clauses))
