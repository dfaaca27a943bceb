"""A preview conversation: typed lines in, through the core's unit of work, and the replies it
recorded out as terminal text."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.handling import Handling, Input, Outgoing, Payload, Press, Text, payloads
from bot.core.replies import Button, Document, Reply
from bot.core.ui import UiTexts
from bot.preview.terminal import to_terminal
from bot.store import Store


@dataclasses.dataclass(frozen=True)
class Shown:
    """One message as the resident sees it: plain text and button labels."""

    text: str
    labels: tuple[str, ...]


class PreviewSession:
    """One resident at a terminal. Numbers press the buttons of the latest keyboard.

    Each line goes through the core's one unit of work, as a Telegram update does: its effects
    and its replies (outbox rows) commit together; the replies shown are read back from the
    outbox and marked sent.
    """

    def __init__(
        self,
        tutor: Tutor,
        store: Store,
        visitor: Visitor,
        write: Callable[[str], None],
        *,
        ansi: bool,
        files: Path | None = None,
    ) -> None:
        self.files = files
        self.tutor = tutor
        self.store = store
        self.handling = Handling(tutor, store)
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
        given: Input
        if pressing:
            number = int(line)
            if not 1 <= number <= len(self.buttons):
                ui = await self._ui()
                self.write(ui.preview_no_such_button.format(number=number))
                return
            given = Press(self.visitor, self.buttons[number - 1].data)
        else:
            given = Text(self.visitor, line)
        handled = await self.handling.handle(given, chat_id=self.visitor.id, render=self._render)
        if handled.notice:
            self.write(f"» {handled.notice}")
        recorded = await self.store.outbox.pending(ids=handled.recorded)
        await self.show([payload for _, _, payload in recorded])
        await self.store.outbox.sent(ids=handled.recorded)

    async def _render(self, reply: Reply) -> Outgoing:
        # The terminal has no message ids: any number marks a first screen that replaces the
        # message whose buttons were pressed, so its old buttons are gone.
        return Outgoing(tuple(payloads(reply, edit_message_id=len(self.shown))), reply.notice)

    async def show(self, messages: Sequence[Payload]) -> None:
        """Show outbox messages: screens with numbered buttons, then pictures and files."""
        ui: UiTexts | None = None
        for message in messages:
            kind = message["kind"]
            if kind == "text":
                self._show_screen(message)
                continue
            ui = ui or await self._ui()
            if kind == "export":
                await self._show_stored(ui, message["export"], message["part"])
                continue
            file = Document(
                message["filename"], base64.b64decode(message["data"]), message["caption"]
            )
            self.write(file.caption)
            self.write(ui.preview_document.format(filename=file.filename, size=len(file.data)))
            if kind == "photo":
                self._saved(file)
            elif file.filename.endswith((".json", ".csv", ".txt")):
                self.write(file.data.decode("utf-8", errors="replace"))

    async def _show_stored(self, ui: UiTexts, export_id: int, number: int) -> None:
        """A large file kept in the store: read back part by part, as delivery would send it."""
        part = await self.store.exports.read_part(export_id=export_id, part=number)
        if part is None:
            return  # purged meanwhile: nothing left to show
        self.write(ui.preview_document.format(filename=part.filename, size=len(part.data)))
        self.write(part.caption)
        self._saved(Document(part.filename, part.data, part.caption))
        await self.store.exports.part_sent(export_id=export_id, part=number)

    def _saved(self, photo: Document) -> None:
        """A terminal cannot show a picture: keep it as a file beside the preview's data."""
        if self.files is not None:
            self.files.mkdir(parents=True, exist_ok=True)
            (self.files / photo.filename).write_bytes(photo.data)
            self.write(str(self.files / photo.filename))

    def _show_screen(self, message: Payload) -> None:
        keyboard = [[Button(*entry) for entry in row] for row in message["keyboard"]]
        labels = tuple(button.label for row in keyboard for button in row)
        self.shown.append(
            Shown(text=to_terminal(message["text"], ansi=False).strip(), labels=labels)
        )
        self.write("─" * 40)
        self.write(to_terminal(message["text"], ansi=self.ansi).strip())
        number = 1
        for row in keyboard:
            cells = []
            for button in row:
                cells.append(f"[{number}] {button.label}")
                number += 1
            self.write("   ".join(cells))
        if labels:
            self.buttons = [button for row in keyboard for button in row]
            self.expects_text = bool(message.get("expects_text"))
        elif "edit" in message:
            self.buttons = []  # the message with the old buttons was replaced
            self.expects_text = False

    async def _ui(self) -> UiTexts:
        language = await self.tutor.language_of(self.visitor.id, self.visitor.language_hint)
        return self.tutor.content.ui[language]
