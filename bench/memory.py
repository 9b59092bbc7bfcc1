"""Memory of a running worker: `python bench/memory.py`.

Starts `cardbot run` (SQLite, a local folder, a database already migrated) and the bare
python-telegram-bot bot as real processes against the Bot API stand-in, warms each up with
applicants who answer, ask an FAQ question and send both sides of their ID card as an album
(so the FAQ matcher, the working-day calendar, the file checks and the photo hashes have all
been used), and prints each process's resident memory then (VmRSS) and at its peak (VmHWM),
and cardbot's ratio to the bare bot. Also `cardbot --help`'s wall time, against
`python -c pass` in the same run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import e2e  # noqa: E402
from cardbot.db.migrate import upgrade  # noqa: E402

GOAL_MB = 100.0


def memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


async def warmed_memory(kind: str, users: int) -> tuple[float, float]:
    """Resident memory (now, peak) of one bot after the warm-up traffic."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database_url = f"sqlite:///{workdir / 'cardbot.sqlite'}"
        if kind == "cardbot":  # a worker (re)starting on its database, as it runs day to day
            upgrade(database_url)
        async with (
            e2e.BotApiStandIn(
                e2e.TOKEN, private_chat_rate=1000.0, private_chat_burst=1000, global_rate=100_000
            ) as api,
            e2e.bot_process(kind, api, workdir, database_url) as process,
        ):
            people = e2e.make_users(users, 20_000)
            await e2e.drive(api, people, e2e.TEXT_STEPS, e2e.Measured())
            await api.wait_idle(quiet=0.5, timeout=60)
            await e2e.upload_albums(api, people, e2e.Measured())
            await api.wait_idle(quiet=1.0, timeout=60)
            return memory_mb(process.pid)


def start_seconds(command: list[str], repeats: int) -> float:
    """The median wall time of running `command` to its end."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return sorted(times)[len(times) // 2]


def main() -> None:
    """Measure and print the table, then one JSON line."""
    quick = "--quick" in sys.argv
    users = 5 if quick else 20
    bare_now, bare_peak = asyncio.run(warmed_memory("bare", users))
    ours_now, ours_peak = asyncio.run(warmed_memory("cardbot", users))
    cardbot = str(Path(sys.executable).with_name("cardbot"))
    help_s = start_seconds([cardbot, "--help"], 5)
    python_s = start_seconds([sys.executable, "-c", "pass"], 5)
    print(f"{'process':<40} {'RSS MB':>8} {'peak MB':>8}")
    print(f"{'bare python-telegram-bot':<40} {bare_now:>8.1f} {bare_peak:>8.1f}")
    print(f"{'cardbot run (SQLite), warmed up':<40} {ours_now:>8.1f} {ours_peak:>8.1f}")
    print(f"cardbot / bare, peak: {ours_peak / bare_peak:.2f}×; goal ≤ {GOAL_MB:.0f} MB")
    print(f"cardbot --help: {help_s:.2f} s (python -c pass: {python_s:.2f} s)")
    print(
        json.dumps(
            {
                "bare_peak_mb": round(bare_peak, 1),
                "cardbot_rss_mb": round(ours_now, 1),
                "cardbot_peak_mb": round(ours_peak, 1),
                "peak_ratio": round(ours_peak / bare_peak, 2),
                "help_seconds": round(help_s, 3),
                "python_seconds": round(python_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
