"""Telegram's HTML subset turned into terminal text: ANSI styles, or plain for transcripts."""

from __future__ import annotations

from html.parser import HTMLParser

_STYLES = {
    "b": ("\x1b[1m", "\x1b[22m"),
    "strong": ("\x1b[1m", "\x1b[22m"),
    "i": ("\x1b[3m", "\x1b[23m"),
    "em": ("\x1b[3m", "\x1b[23m"),
    "u": ("\x1b[4m", "\x1b[24m"),
    "ins": ("\x1b[4m", "\x1b[24m"),
}


class _ToTerminal(HTMLParser):
    def __init__(self, ansi: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.ansi = ansi
        self.parts: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif self.ansi and tag in _STYLES:
            self.parts.append(_STYLES[tag][0])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.parts.append(f" ({href})")
        elif self.ansi and tag in _STYLES:
            self.parts.append(_STYLES[tag][1])

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def to_terminal(html_text: str, *, ansi: bool) -> str:
    """Readable terminal text: bold, italics and underline as ANSI (or nothing), links with URLs."""
    parser = _ToTerminal(ansi)
    parser.feed(html_text)
    parser.close()
    return "".join(parser.parts)
