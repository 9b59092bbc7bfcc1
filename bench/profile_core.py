"""Where cardbot's own time goes per update: the core on SQLite, profiled with cProfile."""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

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
    """Run `applicants` text-and-button applications through the core and print the profile."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            {
                "CARDBOT_DATA_DIR": folder,
                "CARDBOT_DIALOGS_DIR": str(ROOT / "dialogs"),
                "CARDBOT_FAQ_DIR": str(ROOT / "faq"),
            }
        )
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
        profiler = cProfile.Profile()
        start = datetime.now(UTC)
        profiler.enable()
        run(1000, applicants)
        profiler.disable()
        seconds = (datetime.now(UTC) - start).total_seconds()
        runtime.close()
    updates = applicants * len(STEPS)
    print(f"{updates} updates, {1000 * seconds / updates:.2f} ms per update (profiled)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


if __name__ == "__main__":
    main()
