"""What the core answers with, for any channel to show: screens of text and buttons."""

from __future__ import annotations

import dataclasses

from bot.core.callbacks import Action, encode


@dataclasses.dataclass(frozen=True)
class Button:
    """A button: it sends ``data`` back when pressed, or opens ``url`` when it has one."""

    label: str
    data: str
    url: str | None = None

    @classmethod
    def of(cls, label: str, action: Action) -> Button:
        return cls(label=label, data=encode(action))

    @classmethod
    def link(cls, label: str, url: str) -> Button:
        return cls(label=label, data="", url=url)


Keyboard = tuple[tuple[Button, ...], ...]


@dataclasses.dataclass(frozen=True)
class Screen:
    """One message: HTML text (Telegram's subset) and rows of buttons."""

    text: str
    keyboard: Keyboard = ()
    # The screen asks for typed text (a number for the loan calculator): a channel that reads
    # digits as button numbers (the preview) passes them on as text instead.
    expects_text: bool = False


@dataclasses.dataclass(frozen=True)
class Document:
    filename: str
    data: bytes
    caption: str


@dataclasses.dataclass(frozen=True)
class StoredFile:
    """A file kept in the store in chunks (a large export), sent from there part by part."""

    export_id: int
    part: int
    filename: str
    size: int


@dataclasses.dataclass(frozen=True)
class Reply:
    """The core's answer to one event.

    ``edit`` asks the channel to replace the message whose button was pressed with the first
    screen (lessons turn pages in place instead of flooding the chat); ``notice`` is a short
    line shown for the button press itself.
    """

    screens: tuple[Screen, ...] = ()
    edit: bool = False
    notice: str | None = None
    photos: tuple[Document, ...] = ()  # images (charts, QR codes), shown after the screens
    documents: tuple[Document, ...] = ()  # files (a resident's data, CSV exports)
    stored: tuple[StoredFile, ...] = ()  # large files kept in the store, sent after documents
