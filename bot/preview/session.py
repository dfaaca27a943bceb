"""A preview conversation: typed lines in, the core's replies out as terminal text."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.replies import Button, Document, Reply, Screen
from bot.core.ui import UiTexts
from bot.preview.terminal import to_terminal


@dataclasses.dataclass(frozen=True)
class Shown:
    """One message as the resident sees it: plain text and button labels."""

    text: str
    labels: tuple[str, ...]


class PreviewSession:
    """One resident at a terminal. Numbers press the buttons of the latest keyboard."""

    def __init__(
        self,
        tutor: Tutor,
        visitor: Visitor,
        write: Callable[[str], None],
        *,
        ansi: bool,
        files: Path | None = None,
    ) -> None:
        self.files = files
        self.tutor = tutor
        self.visitor = visitor
        self.write = write
        self.ansi = ansi
        self.buttons: list[Button] = []
        self.expects_text = False  # the latest screen asks for a typed number
        self.shown: list[Shown] = []

    async def hint(self) -> None:
        ui = await self._ui()
        self.write(to_terminal(ui.preview_hint, ansi=False))

    async def enter(self, line: str) -> None:
        """Handle one typed line: a button number, a /command, or free text."""
        line = line.strip()
        if not line:
            return
        # "#2" always presses button 2; a plain number does, unless the screen asks for one.
        pressing = line.isascii() and line.isdigit() and not self.expects_text
        if line.startswith("#") and line[1:].isascii() and line[1:].isdigit():
            line, pressing = line[1:], True
        if pressing:
            number = int(line)
            if not 1 <= number <= len(self.buttons):
                ui = await self._ui()
                self.write(ui.preview_no_such_button.format(number=number))
                return
            reply = await self.tutor.press(self.visitor, self.buttons[number - 1].data)
        else:
            reply = await self.tutor.text(self.visitor, line)
        await self.show(reply)

    async def show(self, reply: Reply) -> None:
        if reply.notice:
            self.write(f"» {reply.notice}")
        for index, screen in enumerate(reply.screens):
            self._show_screen(screen)
            if screen.keyboard:
                self.buttons = [button for row in screen.keyboard for button in row]
                self.expects_text = screen.expects_text
            elif index == 0 and reply.edit:
                self.buttons = []  # the message with the old buttons was replaced
                self.expects_text = False
        if not (reply.photos or reply.documents or reply.stored):
            return
        ui = await self._ui()
        for photo in reply.photos:
            self.write(photo.caption)
            self.write(ui.preview_document.format(filename=photo.filename, size=len(photo.data)))
            self._saved(photo)
        for document in reply.documents:
            self.write(document.caption)
            self.write(
                ui.preview_document.format(filename=document.filename, size=len(document.data))
            )
            if document.filename.endswith((".json", ".csv", ".txt")):
                self.write(document.data.decode("utf-8", errors="replace"))
        for stored in reply.stored:
            self.write(ui.preview_document.format(filename=stored.filename, size=stored.size))
            part = await self.tutor.store.exports.read_part(
                export_id=stored.export_id, part=stored.part
            )
            if part is not None:
                self.write(part.caption)
                self._saved(Document(part.filename, part.data, part.caption))
                await self.tutor.store.exports.part_sent(
                    export_id=stored.export_id, part=stored.part
                )

    def _saved(self, photo: Document) -> None:
        """A terminal cannot show a picture: keep it as a file beside the preview's data."""
        if self.files is not None:
            self.files.mkdir(parents=True, exist_ok=True)
            (self.files / photo.filename).write_bytes(photo.data)
            self.write(str(self.files / photo.filename))

    def _show_screen(self, screen: Screen) -> None:
        self.shown.append(
            Shown(
                text=to_terminal(screen.text, ansi=False).strip(),
                labels=tuple(b.label for row in screen.keyboard for b in row),
            )
        )
        self.write("─" * 40)
        self.write(to_terminal(screen.text, ansi=self.ansi).strip())
        number = 1
        for row in screen.keyboard:
            cells = []
            for button in row:
                cells.append(f"[{number}] {button.label}")
                number += 1
            self.write("   ".join(cells))

    async def _ui(self) -> UiTexts:
        language = await self.tutor.language_of(self.visitor.id, self.visitor.language_hint)
        return self.tutor.content.ui[language]
