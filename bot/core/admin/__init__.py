"""The administrators' desk: cohorts with join links, statistics, item analysis, exports and
broadcasts, as a feature package with no I/O (its ports are in ``ports``)."""

from __future__ import annotations

from bot.core.admin.common import bot_link_prefix
from bot.core.admin.desk import ADMIN_COMMANDS, COMMANDS, READ_ONLY_COMMANDS, AdminDesk

__all__ = ["ADMIN_COMMANDS", "COMMANDS", "READ_ONLY_COMMANDS", "AdminDesk", "bot_link_prefix"]
