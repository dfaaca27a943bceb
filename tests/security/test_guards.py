"""An update whose private chat is not its sender's is never trusted."""

from __future__ import annotations

from typing import Any

import pytest

from bot.telegram.guards import private_chat_matches_sender

ALICE = {"id": 11, "is_bot": False, "first_name": "A"}


def private(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "A"}


@pytest.mark.parametrize(
    ("update", "trusted"),
    [
        ({"update_id": 1, "message": {"from": ALICE, "chat": private(11), "text": "hi"}}, True),
        ({"update_id": 1, "message": {"from": ALICE, "chat": private(12), "text": "hi"}}, False),
        ({"update_id": 1, "edited_message": {"from": ALICE, "chat": private(12)}}, False),
        (
            {"update_id": 1, "callback_query": {"from": ALICE, "message": {"chat": private(11)}}},
            True,
        ),
        (
            {"update_id": 1, "callback_query": {"from": ALICE, "message": {"chat": private(99)}}},
            False,
        ),
        ({"update_id": 1, "my_chat_member": {"from": ALICE, "chat": private(12)}}, False),
        # Groups have their own ids; an inline query has no chat: nothing to compare.
        (
            {"update_id": 1, "message": {"from": ALICE, "chat": {"id": -5, "type": "group"}}},
            True,
        ),
        ({"update_id": 1, "inline_query": {"from": ALICE, "query": "x"}}, True),
        ({"update_id": 1, "message": {"chat": private(12)}}, True),  # no sender: a channel post
        ({"update_id": 1}, True),
    ],
)
def test_private_chat_matches_sender(update: dict[str, Any], trusted: bool) -> None:
    assert private_chat_matches_sender(update) is trusted
