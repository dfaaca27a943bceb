"""The only code that speaks SQL."""

from bot.store.repository import Attempt, LessonPosition, Resident, Store

__all__ = ["Attempt", "LessonPosition", "Resident", "Store"]
