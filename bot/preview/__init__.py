"""The terminal channel: the same core as Telegram, shown as text with numbered buttons."""
