"""The Telegram adapter: updates to core events, replies to Bot API calls, nothing more."""
