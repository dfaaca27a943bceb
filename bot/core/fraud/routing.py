"""Which text goes where: the one rule for what a resident types or forwards in a private chat.

1. A forwarded message goes to the scam-message checker, whatever it says.
2. A command ("/menu", "/check") goes to its handler.
3. Any other text goes to the checker when the resident asked to check a message (``/check`` or
   the "check a message" button) within ``CHECK_WAIT``.
4. Anything else is typed text, read as a question by the "ask in your own words" path
   (issue 17, ``bot.core.ask``): urgent advice first when it describes a fraud in progress (before
   consent too), else the lessons that answer it. A loan calculator waiting for a number takes
   it first.

Groups never reach this rule (see ``bot.telegram.handlers.in_group``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable

# How long after /check (or the button) the next text is still taken as the message to check.
CHECK_WAIT = dt.timedelta(minutes=30)


class Route(enum.Enum):
    COMMAND = "command"
    CHECK = "check"
    TYPED = "typed"


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


async def route(
    text: str, *, forwarded: bool, asked_to_check: Callable[[], Awaitable[bool]]
) -> Route:
    """Where ``text`` goes. ``asked_to_check`` is only called (and the request used up) for a
    typed text that is not a command."""
    if forwarded:
        return Route.CHECK
    if is_command(text):
        return Route.COMMAND
    if await asked_to_check():
        return Route.CHECK
    return Route.TYPED
