"""The only code that speaks SQL."""

from bot.store.repository import Attempt, Cohort, LessonPosition, Resident, Sitting, Store

__all__ = ["Attempt", "Cohort", "LessonPosition", "Resident", "Sitting", "Store"]
