"""The Bot API's error answers, with Telegram's own status codes and wording."""

from __future__ import annotations

import json

from tests.fakes.records import JSON

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer, turned into the Bot API's JSON error body."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> bytes:
        """The JSON body Telegram sends with this status."""
        data: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return json.dumps(data).encode()

    def answer(self) -> tuple[int, bytes]:
        """(status, body), as ``BaseRequest.do_request`` returns them."""
        return self.status, self.body()


def too_many_requests(retry_after: int = 1) -> tuple[int, bytes]:
    """Telegram's flood-control answer."""
    description = f"Too Many Requests: retry after {retry_after}"
    return ApiError(429, description, {"retry_after": retry_after}).answer()
