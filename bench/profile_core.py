"""Where cardbot's own time goes per update: the core on SQLite, timed, its SQL statements
counted, then profiled with cProfile."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cardbot.config import load_settings  # noqa: E402
from cardbot.core.events import ButtonPress, Command, Incoming, Text, UserRef  # noqa: E402
from cardbot.runtime import build_runtime  # noqa: E402

STEPS = [
    Command("start"),
    ButtonPress("consent:yes"),
    ButtonPress("cat:individual"),
    Text("张三"),
    ButtonPress("pick:id_type:resident_id"),
    Text("11010519491231002X"),
    Text("审批要多久？"),
    Text("13800138000"),
]


def main(applicants: int = 200) -> None:
    """Run `applicants` text-and-button applications through the core and print the profile
    (on SQLite, or on the database of BENCH_DATABASE_URL, e.g. an empty PostgreSQL one)."""
    with tempfile.TemporaryDirectory() as folder:
        environment = {
            "CARDBOT_DATA_DIR": folder,
            "CARDBOT_DIALOGS_DIR": str(ROOT / "dialogs"),
            "CARDBOT_FAQ_DIR": str(ROOT / "faq"),
        }
        if "BENCH_DATABASE_URL" in os.environ:
            environment["CARDBOT_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        settings = load_settings(environment)
        runtime = build_runtime(settings)
        counter = iter(range(10**9))

        def run(first: int, count: int) -> None:
            for user_id in range(first, first + count):
                user = UserRef(user_id, user_id, "zh-hans")
                for event in STEPS:
                    incoming = Incoming(f"p:{next(counter)}", user, event)
                    for reply in runtime.service.handle(incoming):
                        runtime.renderer.render(reply)

        run(1, 5)  # warm up
        statements: Counter[str] = Counter()

        def count(*args: Any) -> None:
            words = str(args[2]).split()
            statements[" ".join(words[:3] if words[0] != "SELECT" else ["SELECT", "…"])] += 1

        event.listen(runtime.engine, "before_cursor_execute", count)
        cpu = time.process_time()
        run(1000, applicants)
        cpu = time.process_time() - cpu
        event.remove(runtime.engine, "before_cursor_execute", count)
        profiler = cProfile.Profile()
        profiler.enable()
        run(100_000, applicants)
        profiler.disable()
        runtime.close()
    updates = applicants * len(STEPS)
    print(f"{updates} updates: {1000 * cpu / updates:.2f} ms CPU per update (not profiled)")
    print(f"{statements.total() / updates:.2f} SQL statements per update:")
    for statement, times in statements.most_common():
        print(f"  {times / updates:5.2f}  {statement}")
    print("\nprofiled again (cProfile adds its own overhead):")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()
