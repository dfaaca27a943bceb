"""The one unit of work every channel calls: handle this input for this resident.

A channel parses what arrived (a Telegram update, a line typed in the preview) into one of the
inputs below and calls ``Handling.handle``. In one transaction it marks the input received (the
channel's ``receipt``, e.g. Telegram's inbox), runs the feature, turns the reply into outgoing
messages (the channel's ``render``) and records them in the outbox; it then commits and says
what the channel does next (answer the press, wake delivery). If anything fails, nothing of it
is committed: a feature's exception goes on to the channel, which may apologise with ``Apology``;
a failure of the transaction itself is ``NotCommitted``, and the input may simply be tried again.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.fraud.routing import is_command
from bot.core.replies import Reply

# One outgoing message as the outbox keeps it: plain JSON, so it survives in the database.
Payload = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Text:
    """Anything typed or forwarded: commands, a message to check, free text."""

    visitor: Visitor
    text: str
    forwarded: bool = False


@dataclasses.dataclass(frozen=True)
class Press:
    """A button press, with the data the button carried (None: a button without any)."""

    visitor: Visitor
    data: str | None


@dataclasses.dataclass(frozen=True)
class Chatter:
    """Stickers, photos, voice: anything that is not text (``forwarded`` from someone else)."""

    visitor: Visitor
    forwarded: bool = False


@dataclasses.dataclass(frozen=True)
class Apology:
    """Handling this resident's input failed and was rolled back: say sorry instead."""

    visitor: Visitor


@dataclasses.dataclass(frozen=True)
class Effect:
    """A channel's own step (a group's pointer, a chat that blocked the bot), run in the unit
    of work like any feature; it may answer with a reply."""

    run: Callable[[], Awaitable[Reply | None]]


Input = Text | Press | Chatter | Apology | Effect


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """A reply as the channel sends it: outbox messages, and a short line for the press."""

    messages: tuple[Payload, ...] = ()
    notice: str | None = None


@dataclasses.dataclass(frozen=True)
class Handled:
    """What one unit of work committed; ``fresh`` is False when the receipt found the input
    handled before (a redelivery), and then nothing was done."""

    fresh: bool
    chat_id: int
    reply: Reply | None = None
    notice: str | None = None
    recorded: tuple[int, ...] = ()  # the outbox rows written, in order

    @property
    def chats(self) -> tuple[int, ...]:
        """Chats with new messages in the outbox, for delivery to wake."""
        return (self.chat_id,) if self.recorded else ()


class NotCommitted(Exception):
    """The unit of work itself failed (the database was unavailable), not the feature: nothing
    was committed, and the same input may be handled again later."""


class Outbox(Protocol):
    """Messages waiting to be sent, written in the transaction that caused them."""

    async def add(self, *, chat_id: int, payload: dict[str, Any], priority: int = 0) -> int: ...


class Port(Protocol):
    """What handling needs from storage: a transaction that every store call inside joins,
    and the outbox."""

    def unit_of_work(self) -> AbstractAsyncContextManager[object]: ...

    @property
    def outbox(self) -> Outbox: ...


# Runs first in the transaction; False: this input was handled before, so nothing happens.
Receipt = Callable[[], Awaitable[bool]]
# Turns the core's reply into what the channel sends (in the transaction, before recording).
Render = Callable[[Reply], Awaitable[Outgoing]]


async def plain(reply: Reply) -> Outgoing:
    """The reply's messages as they are, nothing replaced, and its notice."""
    return Outgoing(tuple(payloads(reply, edit_message_id=None)), reply.notice)


class Handling:
    """The unit of work around the conversation (``Tutor``), for every channel."""

    def __init__(self, tutor: Tutor, store: Port) -> None:
        self.tutor = tutor
        self.store = store

    async def handle(
        self,
        given: Input,
        *,
        chat_id: int,
        receipt: Receipt | None = None,
        render: Render = plain,
        priority: int = 0,
        reads_only: bool = False,
    ) -> Handled:
        """Run ``given`` and record its reply for ``chat_id``, in one transaction.

        ``reads_only``: the feature only reads (an administrator's report over millions of
        answers), so it runs before the transaction opens rather than holding the write lock.
        """
        if isinstance(given, Text) and not given.forwarded and not is_command(given.text):
            # A typed question needs the search, which may still be building after a start:
            # wait for it here, outside the transaction, so nobody else's writes wait too.
            await self.tutor.asks.ready()
        reply = await self._run(given) if reads_only else None
        # Which part is running: a failure of the unit of work itself (opening, the receipt,
        # recording, the commit) is told apart from the feature's, so the channel can try the
        # whole input again later rather than apologise for it.
        own = True
        try:
            async with self.store.unit_of_work():
                if receipt is not None and not await receipt():
                    return Handled(fresh=False, chat_id=chat_id)
                own = False
                if not reads_only:
                    reply = await self._run(given)
                outgoing = await render(reply) if reply is not None else Outgoing()
                own = True
                recorded = [
                    await self.store.outbox.add(chat_id=chat_id, payload=message, priority=priority)
                    for message in outgoing.messages
                ]
        except Exception as exc:
            if own:
                raise NotCommitted from exc
            raise
        return Handled(
            fresh=True,
            chat_id=chat_id,
            reply=reply,
            notice=outgoing.notice,
            recorded=tuple(recorded),
        )

    async def _run(self, given: Input) -> Reply | None:
        tutor = self.tutor
        match given:
            case Text(visitor, text, forwarded):
                return await tutor.text(visitor, text, forwarded=forwarded)
            case Press(visitor, data):
                return await tutor.press(visitor, data)
            case Chatter(visitor, forwarded):
                return await tutor.chatter(visitor, forwarded=forwarded)
            case Apology(visitor):
                # Read after the rollback: in the language the resident really has.
                return tutor.apology(await tutor.language_of(visitor.id, visitor.language_hint))
            case Effect(run):
                return await run()


def payloads(reply: Reply, *, edit_message_id: int | None) -> list[Payload]:
    """A reply as outbox messages: screens, then pictures, then files, then stored files."""
    out: list[Payload] = []
    for index, screen in enumerate(reply.screens):
        keyboard = [
            [[b.label, b.data] if b.url is None else [b.label, "", b.url] for b in row]
            for row in screen.keyboard
        ]
        item: Payload = {"kind": "text", "text": screen.text, "keyboard": keyboard}
        # Only the first screen replaces the pressed message; if it cannot, it is sent.
        if index == 0 and reply.edit and edit_message_id is not None:
            item["edit"] = edit_message_id
        if screen.expects_text:
            item["expects_text"] = True  # for a channel that reads digits as button numbers
        out.append(item)
    for kind, files in (("photo", reply.photos), ("document", reply.documents)):
        for file in files:
            out.append(
                {
                    "kind": kind,
                    "filename": file.filename,
                    "caption": file.caption,
                    "data": base64.b64encode(file.data).decode(),
                }
            )
    for stored in reply.stored:
        # Only a reference: the part's bytes stay in the store's chunks until it is sent.
        out.append({"kind": "export", "export": stored.export_id, "part": stored.part})
    return out
