"""cardbot: a Telegram assistant for telemarketing SIM card review."""
