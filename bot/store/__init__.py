"""The only code that speaks SQL."""

from bot.store.repository import Store

__all__ = ["Store"]
