"""Where a running cardbot's CPU goes per update: the end-to-end traffic, sampled by py-spy.

`python bench/profile_bot.py [applicants]` starts `cardbot run` under `py-spy record --gil`
(only samples of a thread holding the GIL, so CPU, not waiting), offers the same text and
button traffic as bench/e2e.py, and sorts the samples taken after start-up into the parts of
the work. py-spy is not a dependency of cardbot: `pip install py-spy` (or `.[bench]`) first.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e

# A sample belongs to the first part whose marker is in its stack.
PARTS = [
    (
        "start-up (imports, loading, registering)",
        (
            "_find_and_load",
            "build_runtime",
            "post_init",
            "build_application",
            "initialize",
            "get_me",
            "_freeze_startup_objects",
            "load_settings",
        ),
    ),
    ("Bot API: getUpdates", ("ConfirmingPoller._get_updates",)),
    ("Bot API: sendMessage / editMessageText", ("Bot.send_message (", "edit_message_text")),
    ("Bot API: answerCallbackQuery", ("Bot.answer_callback_query (",)),
    ("core: ConversationService.handle (incl. its SQL)", ("ConversationService.handle",)),
    ("inbox: keeping fetched updates (SQL)", ("SqlInbox.",)),
    (
        "rendering (templates, keyboards, length)",
        ("Renderer.render", "keyboard (", "split_message"),
    ),
    ("update to event (to_incoming)", ("to_incoming",)),
    ("background jobs", ("jobs.py",)),
    (
        "dispatch, ordering, flood gate, metrics",
        (
            "UpdateDispatcher",
            "PerUserUpdateProcessor",
            "process_update",
            "TelegramBridge",
            "metrics.py",
        ),
    ),
]


def part_of(stack: str) -> str:
    """The part of the work a sampled stack belongs to."""
    for name, markers in PARTS:
        if any(marker in stack for marker in markers):
            return name
    return "event loop, thread hand-offs and the rest"


def shares(raw: Path) -> tuple[Counter[str], int]:
    """Samples per part, from py-spy's raw output (one `stack count` per line)."""
    parts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        parts[part_of(re.sub(r":\d+\)", ")", stack))] += int(count)
        total += int(count)
    return parts, total


async def profile(applicants: int, raw: Path) -> e2e.Measured:
    """Run the traffic against cardbot started under py-spy; returns what e2e measured."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    start = asyncio.create_subprocess_exec

    async def under_py_spy(*command: Any, **options: Any) -> asyncio.subprocess.Process:
        record = [spy, "record", "--gil", "--threads", "-r", "250", "--format", "raw"]
        process = await start(*record, "-o", str(raw), "--", *command, **options)
        process.terminate = lambda: process.send_signal(signal.SIGINT)  # type: ignore[method-assign]
        return process

    e2e.asyncio.create_subprocess_exec = under_py_spy  # type: ignore[assignment]
    try:
        with e2e.fresh_database("sqlite") as url:
            measured, _ = await e2e.measure_bot("cardbot", url, applicants)
    finally:
        e2e.asyncio.create_subprocess_exec = start  # type: ignore[assignment]
    return measured


def main() -> None:
    """Profile and print each part's share of cardbot's CPU."""
    if not (shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists()):
        sys.exit("py-spy is not installed: pip install py-spy")
    applicants = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "samples.txt"
        measured = asyncio.run(profile(applicants, raw))
        parts, total = shares(raw)
    startup = parts.pop(PARTS[0][0], 0)
    busy = total - startup
    print(f"{measured.updates} updates profiled ({busy} samples after start-up, {startup} in it)")
    for name, samples in parts.most_common():
        print(f"{100 * samples / busy:5.1f} %  {name}")


if __name__ == "__main__":
    main()
