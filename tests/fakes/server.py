"""The fake Bot API served over HTTP on 127.0.0.1, for finlit running as a real process."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any

from telegram.error import NetworkError
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from tests.fakes.bot_api import FakeTelegram

# Parameters Telegram takes as plain strings; every other form value is JSON (as PTB encodes it).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "language_code",
        "url",
        "secret_token",
        "description",
        "short_description",
        "name",
        "emoji",
    }
)


class FakeTelegramServer:
    """The fake served over HTTP on 127.0.0.1, for running ``finlit run`` as a real process.

    It speaks just enough HTTP/1.1 for httpx (keep-alive, Content-Length bodies, form-encoded
    parameters) and hands every request to the same ``FakeTelegram``.
    """

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeTelegramServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            # Long-polling clients may still hold connections; close them rather than wait.
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                _, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._answer(target, headers, body)
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down under a long poll
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if "multipart/form-data" in headers.get("content-type", ""):
            return 400, b'{"ok":false,"error_code":400,"description":"uploads over HTTP not faked"}'
        params = []
        for name, raw in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            value: Any = raw
            if name not in _STRING_PARAMS:
                try:
                    value = json.loads(raw)
                except ValueError:
                    value = raw
            params.append(RequestParameter(name, value, input_files=None))
        try:
            return await self.fake.do_request(target, "POST", RequestData(params))
        except NetworkError:
            return 502, b'{"ok":false,"error_code":502,"description":"Bad Gateway"}'
