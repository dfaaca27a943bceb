"""Telegram's HTML and text rules: entities, lengths in UTF-16, and the same errors."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from tests.fakes.bot_api import FakeTelegram
from tests.fakes.html import parse_html
from tests.fakes_tests.support import CHAT, last_error


async def test_valid_html_subset_passes_with_entities() -> None:
    text, entities = parse_html(
        '<strong>b</strong><em>i</em><ins>u</ins><del>s</del><span class="tg-spoiler">x</span>'
        '<tg-spoiler>y</tg-spoiler><a href="https://t.me/?a=1&b=2">l</a><code>c</code>'
        '<pre><code class="language-python">p</code></pre><blockquote expandable>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>&#65;&#x42;&quot;&lt;&gt;'
    )
    assert text == 'biusxylcpq👍AB"<>'
    kinds = [
        (e["type"], e.get("url") or e.get("language") or e.get("custom_emoji_id")) for e in entities
    ]
    assert kinds == [
        ("bold", None),
        ("italic", None),
        ("underline", None),
        ("strikethrough", None),
        ("spoiler", None),
        ("spoiler", None),
        ("text_link", "https://t.me/?a=1&b=2"),
        ("code", None),
        ("pre", "python"),
        ("expandable_blockquote", None),
        ("custom_emoji", "5368324170671202286"),
    ]


# --------------------------------------------------------------------------- text validation


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>"])
async def test_empty_text_is_rejected(bot: Bot, fake: FakeTelegram, text: str) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert last_error(fake) == "Bad Request: message text is empty"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<b>" + "a" * 4096 + "</b>", True),  # 4103 characters sent, 4096 visible
        ("<b>" + "a" * 4097 + "</b>", False),
        ("&lt;" * 4096, True),
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2049, False),  # 2049 characters, but 4098 code units
    ],
)
async def test_length_is_counted_after_entity_parsing_in_utf16(
    bot: Bot, fake: FakeTelegram, text: str, ok: bool
) -> None:
    if ok:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    else:
        with pytest.raises(BadRequest):
            await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
        assert last_error(fake) == "Bad Request: message is too long"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Hi <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("Привет <br>", 'Unsupported start tag "br" at byte offset 13'),  # bytes, not chars
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("plain</b>", "Unexpected end tag at byte offset 5"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a>x</a>", 'Tag "a" must have attribute "href" at byte offset 0'),
        ("AT&T", 'Unsupported HTML entity or bare "&" at byte offset 2'),
        ("a&nbsp;b", 'Unsupported HTML entity or bare "&" at byte offset 1'),
        ('<tg-emoji emoji-id="x">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_bad_html_is_rejected_like_telegram(
    bot: Bot, fake: FakeTelegram, text: str, description: str
) -> None:
    with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert last_error(fake) == f"Bad Request: can't parse entities: {description}"
    assert fake.last_message(CHAT) is None


async def test_lenient_mode_matches_tdlib_for_ampersands() -> None:
    lenient = FakeTelegram(strict=False)
    async with Bot("123:ABC", request=lenient) as bot:
        msg = await bot.send_message(CHAT, "AT&T &lt 3 <a>x</a>", parse_mode=ParseMode.HTML)
    assert msg.text == "AT&T < 3 x"


async def test_without_parse_mode_markup_is_literal(bot: Bot) -> None:
    msg = await bot.send_message(CHAT, "  <b>x</b> & y  ")
    assert msg.text == "<b>x</b> & y"  # trimmed, not parsed
