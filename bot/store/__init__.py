"""The only code that speaks SQL."""

from bot.store.repository import Attempt, LessonPosition, Resident, Sitting, Store

__all__ = ["Attempt", "LessonPosition", "Resident", "Sitting", "Store"]
