"""The administrators' desk: its commands, routed by a table, and what channels call on it.

Administrators are the ids in ADMIN_IDS. For anyone else these commands do not exist: the tutor
answers them exactly like any unknown command. Every action is written to the audit log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping

from bot.core import callbacks as cb
from bot.core.admin import broadcast, cohorts, export, items, screens, stats
from bot.core.admin.common import Desk
from bot.core.i18n import Language
from bot.core.models import Broadcast
from bot.core.replies import Keyboard, Reply, Screen

Run = Callable[[Desk, int, Language, str], Awaitable[Reply]]


@dataclasses.dataclass(frozen=True)
class Command:
    """One administrator's command: what runs it, and whether it only reads."""

    run: Run
    # A command that only reads (besides its audit line) is run by a channel outside any write
    # transaction, so a long read at province scale never holds up residents' answers.
    read_only: bool


# In the order of the administrators' command menu.
COMMANDS: Mapping[str, Command] = {
    "cohort": Command(cohorts.new_cohort, read_only=False),
    "cohorts": Command(cohorts.list_cohorts, read_only=True),
    "stats": Command(stats.show_stats, read_only=True),
    "items": Command(items.show_items, read_only=True),
    "export": Command(export.export, read_only=True),
    "broadcast": Command(broadcast.draft, read_only=False),
}
ADMIN_COMMANDS = tuple(COMMANDS)
READ_ONLY_COMMANDS = frozenset(name for name, command in COMMANDS.items() if command.read_only)


@dataclasses.dataclass
class AdminDesk(Desk):
    """Cohorts with join links, statistics, item analysis, exports and broadcasts."""

    async def handle(self, admin_id: int, language: Language, name: str, args: str) -> Reply:
        """Run the administrator's command ``name`` (one of ADMIN_COMMANDS), audited."""
        await self.store.audit.record(admin_id=admin_id, action=name, detail=args)
        return await COMMANDS[name].run(self, admin_id, language, args)

    async def broadcast_press(
        self, admin_id: int, language: Language, action: cb.BroadcastSend | cb.BroadcastCancel
    ) -> Reply | None:
        """[Send] or [Cancel] under a preview; None (a stale button) unless it is this admin's."""
        return await broadcast.press(self, admin_id, language, action)

    def broadcast_message(
        self, language: Language, text: str, *, keyboard: Keyboard | None = None
    ) -> Screen:
        """The announcement as a resident in ``language`` receives it (the text escaped)."""
        return screens.broadcast_message(self.content, language, text, keyboard=keyboard)

    def broadcast_report(self, language: Language, sent: Broadcast, *, final: bool) -> Reply:
        """Progress (sent / failed / blocked / remaining), or the final figures."""
        report = screens.broadcast_report(
            self.content, language, sent, final=final, min_group=self.min_group
        )
        return Reply((report,))
