"""What finlit knows, free of any chat channel: content, scoring, progress, conversation."""
