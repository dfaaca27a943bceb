"""``finlit run`` as a real process: migrate on start, long-poll, answer, stop on SIGTERM."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.store.db import alembic_config
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.process import FinlitProcess, eventually
from tests.fakes.server import FakeTelegramServer

REPO = Path(__file__).resolve().parents[2]
TOKEN = "424242:run-test-secret-token"


async def test_finlit_run_serves_residents_and_stops_cleanly(tmp_path: Path) -> None:
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as server:
        bot = FinlitProcess(
            server,
            database_url=f"sqlite+aiosqlite:///{tmp_path}/data/finlit.db",
            token=TOKEN,
            env={"LOG_LEVEL": "DEBUG"},
            cwd=tmp_path,
        )
        async with bot:
            await eventually(lambda: fake.calls_of("getUpdates"))
            user = {"id": 555, "is_bot": False, "first_name": "Lan", "language_code": "en"}
            fake.push_update(
                {
                    "message": {
                        "message_id": 1,
                        "date": 1_700_000_000,
                        "from": user,
                        "chat": {"id": 555, "type": "private", "first_name": "Lan"},
                        "text": "/start",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                    }
                }
            )
            await eventually(lambda: fake.sent_texts(555))
            returncode, log = await bot.stop()
    assert returncode == 0, log
    assert "Welcome to finlit" in fake.sent_texts(555)[0]
    assert {c.params.get("language_code") for c in fake.calls_of("setMyCommands")} == {
        "zh",
        "en",
        None,
    }
    # The database was created and migrated to the latest schema on start.
    with sqlite3.connect(tmp_path / "data" / "finlit.db") as db:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert db.execute("select version_num from alembic_version").fetchone() == (head,)
        assert db.execute("select id, consent_at from residents").fetchall() == [(555, None)]
    # Even at DEBUG the log carries neither the token nor the resident's name.
    assert "run-test-secret-token" not in log
    assert "Lan" not in log
