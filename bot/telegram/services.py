"""The services a running application opens in post_init and hands to its handlers and workers."""

from __future__ import annotations

import dataclasses

from bot.core.content import Content
from bot.core.conversation.tutor import Tutor
from bot.core.handling import Handling
from bot.settings import Settings
from bot.store import Store
from bot.telegram.delivery import DeliveryEngine


@dataclasses.dataclass
class Services:
    settings: Settings
    content: Content
    store: Store
    tutor: Tutor
    delivery: DeliveryEngine
    # The one unit of work of the core (bot/core/handling.py) that every handler calls.
    handling: Handling = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.handling = Handling(self.tutor, self.store)
