"""An offline Telegram for tests and benchmarks, one module per job.

House rule: tests fake the transport, not the bot. Import each thing from the module that owns it:

- ``records``: what the fake records (``ApiCall``, ``Button``, ``BotMessage``) and its JSON types;
- ``html``: Telegram's HTML rules (``parse_html``, ``utf16_len``);
- ``errors``: the Bot API's error answers, with Telegram's own wording;
- ``validation``: what Telegram accepts in a message (text, captions, inline keyboards);
- ``faults``: failures a test injects (the next calls of a method fail);
- ``bot_api``: ``FakeTelegram``, the Bot API itself as a PTB ``BaseRequest``;
- ``limits``: Telegram's flood limits (``TelegramLimits``) and the fake enforcing them;
- ``builders``: updates as a Telegram client makes them (a text, a button press);
- ``resident``: ``TelegramUser``, a person talking to a real ``Application``;
- ``server``: the fake served over HTTP, for finlit as a real process;
- ``process``: ``finlit run`` as a child process (``FinlitProcess``, ``eventually``);
- ``clock``: virtual time for tests of pacing, and a store's clock that stands still.
"""
