"""The sending limits' ledger in PostgreSQL, shared by every worker of a deployment.

One row per scope (the bot, each chat) holds the scope's state (its due time, or the stamps of
its recent messages) in seconds of the database's clock, so the workers' own clocks do not
matter, and when it is idle again. Taking a place locks the rows concerned in scope order (so
two workers never wait on each other in a circle), decides with `send_pace.take`, and writes
the new states back, in one short transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from cardbot.db.models import SendPaceRow
from cardbot.db.session import ignoring_duplicates
from cardbot.telegram.send_pace import Cell, State, give_back, hold_back, take, waiting

NOW = func.extract("epoch", func.clock_timestamp())
FORGET_EVERY = 1000  # takes

# The scopes' rows, with the clock: read by an outer query, so once the rows are locked (read
# beside the lock, it could be from before a wait for another worker's commit). Built once.
_SCOPES = SendPaceRow.scope.in_(bindparam("scopes", expanding=True))
_LOCKED = (
    select(SendPaceRow.scope, SendPaceRow.state)
    .where(_SCOPES)
    .order_by(SendPaceRow.scope)
    .with_for_update()
    .subquery()
)
LOCK = select(_LOCKED.c.scope, _LOCKED.c.state, NOW).order_by(_LOCKED.c.scope)
# A look that takes nothing (peek) locks nothing either.
READ = select(SendPaceRow.scope, SendPaceRow.state, NOW).where(_SCOPES).order_by(SendPaceRow.scope)
MOVE = (
    update(SendPaceRow)
    .where(SendPaceRow.scope == bindparam("key"))
    .values(state=bindparam("new_state"), idle_from=bindparam("idle"))
    .execution_options(synchronize_session=False)
)


def _encode(state: State) -> str:
    return " ".join(repr(value) for value in state)


def _decode(text: str) -> State:
    return tuple(float(value) for value in text.split())


class SqlSendLedger:
    """The scopes' states in the `send_pace` table."""

    shared = True

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = ignoring_duplicates(engine.dialect.name, SendPaceRow)
        self._known: set[str] = set()
        self._takes = 0

    def take(self, cells: Sequence[Cell], background: bool) -> float:
        """Take the cells' places now (0) or say how long to wait (nothing taken)."""
        self._takes += 1
        if self._takes % FORGET_EVERY == 0:
            self.forget_idle()
        wait = 0.0

        def decide(states: dict[str, State], now: float) -> None:
            nonlocal wait
            wait = take(states, cells, now, background)

        self._change(cells, decide, commit=True)
        return wait

    def peek(self, cells: Sequence[Cell], background: bool) -> float:
        """How long the cells would wait now (0: they fit), taking nothing."""
        wait = 0.0

        def decide(states: dict[str, State], now: float) -> None:
            nonlocal wait
            wait = waiting(states, cells, now, background)

        self._change(cells, decide, commit=False)
        return wait

    def hold_back(self, cell: Cell, seconds: float) -> None:
        """Keep the cell's scope closed for `seconds` from now."""
        self._change([cell], lambda states, now: hold_back(states, cell, now + seconds))

    def give_back(self, cells: Sequence[Cell]) -> None:
        """Return the places of cells whose call was not carried out."""
        self._change(cells, lambda states, _now: give_back(states, cells))

    def forget_idle(self) -> int:
        """Delete the rows of scopes that hold nothing any more (a chat id is kept no longer
        than it limits anything); returns how many."""
        with self._engine.begin() as connection:
            result = connection.execute(delete(SendPaceRow).where(SendPaceRow.idle_from < NOW))
        self._known.clear()
        return int(result.rowcount)

    def _change(
        self,
        cells: Sequence[Cell],
        change: Callable[[dict[str, State], float], None],
        *,
        commit: bool = True,
    ) -> None:
        """Lock the cells' rows, let `change` update their states, write back what changed
        (without `commit`, a look that takes nothing: the rows are read, not locked)."""
        limits = {cell.scope: cell.limit for cell in cells}
        scopes = sorted(limits)
        while True:
            with self._engine.begin() as connection:
                created = self._ensure(connection, scopes)
                rows = self._rows(connection, scopes, lock=commit)
                if len(rows) < len(scopes):
                    # Forgotten by another worker, or created by another thread of this one
                    # and not committed yet: create (or wait for) them, then lock them all.
                    self._known.difference_update(scopes)
                    continue
                now = rows[0][2]
                before = {scope: _decode(state) for scope, state, _ in rows}
                states = dict(before)
                change(states, now)
                moved = [
                    {"key": s, "new_state": _encode(st), "idle": limits[s].idle_from(st)}
                    for s, st in states.items()
                    if st != before.get(s)
                ]
                if commit and moved:
                    connection.execute(MOVE, moved)
            self._known.update(created)  # known once committed, so others in this process see it
            return

    @staticmethod
    def _rows(
        connection: Connection, scopes: Sequence[str], *, lock: bool
    ) -> list[tuple[str, str, float]]:
        """The scopes' states in scope order (locked, if `lock`), and the clock once locked."""
        rows = connection.execute(LOCK if lock else READ, {"scopes": list(scopes)})
        return [(scope, state, float(now)) for scope, state, now in rows]

    def _ensure(self, connection: Connection, scopes: Sequence[str]) -> list[str]:
        """Create the rows of scopes this process has not seen yet (empty: idle); which."""
        new = [scope for scope in scopes if scope not in self._known]
        if new:
            rows = [{"scope": s, "state": "", "idle_from": 0.0} for s in new]
            connection.execute(self._insert, rows)
        return new
