"""finlit: a chat tutor for digital-finance literacy."""
