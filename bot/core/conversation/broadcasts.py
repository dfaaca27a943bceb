"""Administrators' buttons in the residents' chat: confirming or cancelling an announcement."""

from __future__ import annotations

from bot.core import callbacks as cb
from bot.core.conversation.base import Conversation, Press
from bot.core.replies import Reply


async def confirm(
    conv: Conversation, press: Press, action: cb.BroadcastSend | cb.BroadcastCancel
) -> Reply:
    """Send or cancel; for anyone but an administrator (a forged press) the buttons do not
    exist."""
    reply = None
    if conv.admin is not None and conv.admin.is_admin(press.visitor.id):
        reply = await conv.admin.broadcast_press(press.visitor.id, press.language, action)
    return reply if reply is not None else conv.stale(press.language)
