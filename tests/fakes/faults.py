"""Faults a test injects into the fake Bot API: the next calls of a method fail."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from telegram.error import NetworkError

from tests.fakes.errors import ApiError


@dataclass
class Fault:
    """How the matching calls fail (``status`` None: a network error), and for how many."""

    status: int | None
    retry_after: int
    description: str | None
    remaining: int
    chat_id: int | None = None  # only calls to this chat fail (None: any call)
    skip: int = 0  # matching calls let through before the failures start


class Faults:
    """The faults waiting, per Bot API method, in the order they were added."""

    def __init__(self) -> None:
        self._by_method: dict[str, list[Fault]] = {}

    def add(self, method: str, fault: Fault) -> None:
        """Queue ``fault`` for ``method``."""
        self._by_method.setdefault(method, []).append(fault)

    def inject(self, method: str, chat_id: object = None) -> None:
        """Raise the first fault that matches this call, if any (and count it)."""
        faults = self._by_method.get(method)
        if not faults:
            return
        matching = [f for f in faults if f.chat_id is None or str(f.chat_id) == str(chat_id)]
        if not matching:
            return
        fault = matching[0]
        if fault.skip > 0:
            fault.skip -= 1
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.remove(fault)
        if fault.status is None:
            raise NetworkError(fault.description or "Fake network error: connection reset")
        if fault.status == 429:
            raise ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        try:
            default = HTTPStatus(fault.status).phrase
        except ValueError:
            default = "Unknown Error"
        raise ApiError(fault.status, fault.description or default)
