"""The core: conversation, checks and use cases; it knows nothing about Telegram or SQL."""
