"""The conversation's routing table: every button and every command has exactly one handler."""

from __future__ import annotations

import dataclasses
import inspect
import typing

from bot.core import callbacks as cb
from bot.core.conversation import routes


def test_every_action_type_has_a_route() -> None:
    actions = set(typing.get_args(cb.Action))
    missing = sorted(kind.__name__ for kind in actions - set(routes.ACTIONS))
    assert not missing, f"no row in bot/core/conversation/routes.py for: {missing}"


def test_every_dataclass_in_callbacks_is_an_action_with_a_code() -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(cb, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == cb.__name__
    }
    assert defined == set(typing.get_args(cb.Action))
    for kind in defined:
        assert kind in routes.ACTIONS


def test_each_row_routes_its_own_type_once() -> None:
    rows = routes.ROWS
    assert len({row.kind for row in rows}) == len(rows), "an action type has two rows"
    assert all(routes.ACTIONS[row.kind] is row for row in rows)
    assert set(routes.ACTIONS) <= set(typing.get_args(cb.Action))


def test_every_command_has_a_handler() -> None:
    assert set(routes.COMMANDS) == set(typing.get_args(routes.CommandName))
