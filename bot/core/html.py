"""Checks for the HTML subset a chat message may use, and its visible length.

Telegram measures its limits on the text after entity parsing (tags removed, entities decoded),
counted in UTF-16 code units, so content is measured the same way.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)
# A '&' must start one of these; anything else is a parse error for Telegram.
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class _SubsetChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
            return
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("a link <a> needs an href")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.problems.append('a <span> must have class="tg-spoiler"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing tag <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            return  # already reported at its start tag
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"closing tag </{tag}> does not match an open tag")
            return
        self.open.pop()

    def handle_comment(self, data: str) -> None:
        self.problems.append("HTML comments are not allowed")


def html_problems(text: str) -> list[str]:
    """Every reason Telegram would refuse ``text`` with parse_mode HTML (empty when valid)."""
    problems: list[str] = []
    for match in re.finditer(r"&", text):
        if not _ENTITY.match(text, match.start()):
            problems.append("a bare '&' must be written &amp;")
            break
    for match in re.finditer(r"<", text):
        if not re.match(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>", text[match.start() :]):
            problems.append("a bare '<' must be written &lt;")
            break
    checker = _SubsetChecker()
    checker.feed(text)
    checker.close()
    problems.extend(checker.problems)
    problems.extend(f"tag <{tag}> is never closed" for tag in checker.open)
    return problems


def visible_text(text: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^<>]*>", "", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the visible text."""
    return len(visible_text(text).encode("utf-16-le")) // 2


def display_width(text: str) -> int:
    """Columns a label takes on a phone: wide (CJK, emoji) characters count two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
