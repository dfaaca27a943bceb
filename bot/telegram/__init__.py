"""The Telegram channel: thin adapters between updates and the core."""
