"""Telegram's HTML subset, as tdlib parses it: visible text, entities, and the same errors."""

from __future__ import annotations

import string
from dataclasses import dataclass

from tests.fakes.records import JSON


class HtmlParseError(ValueError):
    """Telegram refused the HTML; the message is what follows "can't parse entities: "."""


_SPACE = frozenset(" \t\r\n\v\f")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_TAGS = {
    "bold": ("b", "strong"),
    "italic": ("i", "em"),
    "underline": ("u", "ins"),
    "strikethrough": ("s", "strike", "del"),
    "spoiler": ("span", "tg-spoiler"),
    "text_link": ("a",),
    "code": ("code",),
    "pre": ("pre",),
    "blockquote": ("blockquote",),
    "custom_emoji": ("tg-emoji",),
}
_TAG_TYPES = {tag: kind for kind, tags in _ENTITY_TAGS.items() for tag in tags}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == "&"``; None if it is not one.

    Mirrors tdlib's decode_html_entity: only lt/gt/amp/quot and numeric references exist.
    tdlib makes the ';' optional; strict mode insists on it because "&amp" is nearly always a bug.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        is_hex = text.startswith(("x", "X"), end)
        end += is_hex
        digits_start = end
        allowed = string.hexdigits if is_hex else string.digits
        while end < len(text) and text[end] in allowed:
            end += 1
        digits = text[digits_start:end]
        if not digits or end - pos >= 10:
            return None
        code = int(digits, 16 if is_hex else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if text.startswith(";", end):
        return char, end + 1
    return None if strict else (char, end)


@dataclass
class _OpenTag:
    name: str
    argument: str
    start: int  # UTF-16 offset in the visible text


class _HtmlParser:
    """Telegram's HTML subset, modelled on tdlib's parse_html (same checks, same wording).

    ``strict`` additionally rejects what Telegram silently tolerates but is almost always a
    forgotten ``html.escape``: a bare '&' / unknown entity, and ``<a>`` without href.
    """

    def __init__(self, text: str, *, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self.out: list[str] = []
        self.u16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def offset(self, index: int) -> int:
        """Telegram reports positions as byte offsets into the UTF-8 text."""
        return len(self.text[:index].encode())

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.u16 += utf16_len(chars)

    def parse(self) -> tuple[str, list[JSON]]:
        text, i = self.text, 0
        while i < len(text):
            if text[i] == "&":
                decoded = _decode_entity(text, i, strict=self.strict)
                if decoded is not None:
                    self.emit(decoded[0])
                    i = decoded[1]
                    continue
                if self.strict:
                    raise HtmlParseError(
                        f'Unsupported HTML entity or bare "&" at byte offset {self.offset(i)}'
                    )
            if text[i] != "<":
                self.emit(text[i])
                i += 1
            elif text.startswith("/", i + 1):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.open:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in _SPACE:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:
        text, i = self.text, begin + 1
        while i < len(text) and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.offset(begin)}")
        tag = text[begin + 1 : i].lower()
        if tag not in _TAG_TYPES:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.offset(begin)}'
            )
        attrs, i = self.attributes(tag, begin, i)
        argument = ""
        if tag == "a":
            if "href" not in attrs and self.strict:
                raise HtmlParseError(
                    f'Tag "a" must have attribute "href" at byte offset {self.offset(begin)}'
                )
            argument = attrs.get("href", "")
        elif tag == "code" and attrs.get("class", "").startswith("language-"):
            argument = attrs["class"].removeprefix("language-")
        elif tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {self.offset(begin)}'
                )
        elif tag == "tg-emoji":
            argument = attrs.get("emoji-id", "")
            if not argument.isdigit() or int(argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
        elif tag == "blockquote" and "expandable" in attrs:
            argument = "expandable"
        self.open.append(_OpenTag(tag, argument, self.u16))
        return i

    def attributes(self, tag: str, begin: int, i: int) -> tuple[dict[str, str], int]:
        """Parse attributes up to and including '>'; unknown attributes are ignored like tdlib."""
        text = self.text
        attrs: dict[str, str] = {}
        unclosed = f'Unclosed start tag "{tag}" at byte offset {self.offset(begin)}'
        while True:
            i = self.skip_space(i)
            if i >= len(text):
                raise HtmlParseError(unclosed)
            if text[i] == ">":
                return attrs, i + 1
            name_start = i
            while i < len(text) and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            name = text[name_start:i].lower()
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self.offset(begin)}'
                )
            i = self.skip_space(i)
            if not text.startswith("=", i):
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self.offset(begin)}'
                )
            i = self.skip_space(i + 1)
            if i >= len(text):
                raise HtmlParseError(unclosed)
            if text[i] in "'\"":
                quote, i, value = text[i], i + 1, []
                while i < len(text) and text[i] != quote:
                    # Attribute values decode entities leniently even in strict mode: URLs
                    # with raw '&' in query strings are fine on Telegram.
                    decoded = _decode_entity(text, i, strict=False) if text[i] == "&" else None
                    if decoded is not None:
                        value.append(decoded[0])
                        i = decoded[1]
                    else:
                        value.append(text[i])
                        i += 1
                if i >= len(text):
                    raise HtmlParseError(unclosed)
                attrs[name] = "".join(value)
                i += 1
            else:
                token_start = i
                while i < len(text) and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                if i < len(text) and text[i] not in _SPACE and text[i] != ">":
                    raise HtmlParseError(
                        f"Unexpected end of name token at byte offset {self.offset(token_start)}"
                    )
                attrs[name] = text[token_start:i].lower()

    def end_tag(self, begin: int) -> int:
        text = self.text
        if not self.open:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.offset(begin)}")
        i = begin + 2
        while i < len(text) and text[i] not in _SPACE and text[i] != ">":
            i += 1
        name = text[begin + 2 : i].lower()
        i = self.skip_space(i)
        if not text.startswith(">", i):
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.offset(begin)}")
        tag = self.open.pop()
        if name and name != tag.name:  # tdlib accepts "</>" as closing whatever is open
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.close(tag)
        return i + 1

    def close(self, tag: _OpenTag) -> None:
        length = self.u16 - tag.start
        if length <= 0:  # Telegram drops empty entities
            return
        entity: JSON = {"type": _TAG_TYPES[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            if not tag.argument:
                return  # lenient mode: tdlib drops a link it cannot resolve
            entity["url"] = tag.argument
        elif tag.name == "code" and tag.argument and self.open and self.open[-1].name == "pre":
            entity["language"] = tag.argument  # <pre><code class="language-x"> only
        elif tag.name == "pre":
            inner = self.entities[-1] if self.entities else {}
            if "language" in inner:
                language = inner.pop("language")
                if (inner["offset"], inner["length"]) == (tag.start, length):
                    entity["language"] = language  # <pre><code class=...> is one entity
                    self.entities.pop()
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.argument == "expandable":
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Return (visible text, MessageEntity dicts) or raise HtmlParseError like Telegram."""
    return _HtmlParser(text, strict=strict).parse()


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading/trailing whitespace from texts and clips entities to match."""
    stripped = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
