"""Limits every check shares: what Telegram accepts and what fits on a phone."""

from __future__ import annotations

ASSESSMENT_FILE = "assessment.yaml"
MESSAGE_LIMIT = 4096  # Telegram: characters of a message after entity parsing
BUTTON_COLUMNS = 40  # what fits on one button of a phone held upright
