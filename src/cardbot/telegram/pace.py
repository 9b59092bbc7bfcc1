"""How busy each chat is with the bot's own messages, for calls that may be left out.

Telegram asks bots to send about one message a second to a chat, allowing short bursts, and
answers a 429 (wait and retry) beyond that. Taking the buttons off an answered question is
worth a call only while the chat has room: in a chat that just received PACE_BUDGET messages
within PACE_WINDOW seconds (someone answering faster than anyone types), the old buttons are
left, and refused with a toast if pressed, rather than holding up the next answer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

PACE_WINDOW = 5.0
PACE_BUDGET = 5
MAX_TRACKED = 50_000


class ChatPace:
    """The moments this process sent something to each chat, over the last `window` seconds."""

    def __init__(
        self,
        window: float = PACE_WINDOW,
        budget: int = PACE_BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.budget = budget
        self.clock = clock
        self._sent: dict[int, deque[float]] = {}

    def record(self, chat_id: int) -> None:
        """Note one message (or edit) sent to the chat now."""
        now = self.clock()
        if len(self._sent) >= MAX_TRACKED:
            self._sweep(now)
        stamps = self._sent.setdefault(chat_id, deque())
        stamps.append(now)
        self._expire(stamps, now)

    def has_room(self, chat_id: int) -> bool:
        """True when the chat received fewer than `budget` messages in the last `window`."""
        stamps = self._sent.get(chat_id)
        if not stamps:
            return True
        self._expire(stamps, self.clock())
        return len(stamps) < self.budget

    def _expire(self, stamps: deque[float], now: float) -> None:
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()

    def _sweep(self, now: float) -> None:
        for chat_id, stamps in list(self._sent.items()):
            self._expire(stamps, now)
            if not stamps:
                del self._sent[chat_id]
