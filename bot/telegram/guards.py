"""Checks on an update's raw JSON before it is trusted, and whose it is: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update


def resident_key(update: Update) -> int:
    """Whose update this is, for ordering: the user, else the chat (0: nobody's)."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return 0


def private_chat_matches_sender(update: Mapping[str, Any]) -> bool:
    """False when a private chat's id differs from the id of the user the update is from.

    Telegram never sends such an update: in a private chat the chat is the user. A forged one
    (someone who learnt the webhook secret) could otherwise have a resident's /mydata sent to
    another chat, since handling acts for ``from`` and replies to ``chat``.
    """
    for part in update.values():
        if not isinstance(part, Mapping):
            continue
        sender = part.get("from")
        chat = part.get("chat")
        if chat is None and isinstance(part.get("message"), Mapping):
            chat = part["message"].get("chat")  # a callback query: the message's chat
        if not isinstance(sender, Mapping) or not isinstance(chat, Mapping):
            continue
        if chat.get("type") == "private" and chat.get("id") != sender.get("id"):
            return False
    return True
