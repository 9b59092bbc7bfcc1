"""End to end: cardbot against a bare python-telegram-bot bot, over the same Bot API stand-in.

Both bots run as real processes polling a local Bot API stand-in that this benchmark serves and
feeds: simulated applicants send their updates at a fixed offered rate. For each bot we measure
the process's CPU seconds per update (from /proc), the time from an update being offered to the
bot's first reply to that chat (p50, p99), the process's peak memory, and, for cardbot, the
database size per application. Uploads (an album of two photos) are measured on their own, as
the bare bot neither downloads nor checks files. The growth run repeats the text traffic with
many applications already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from tests.support import files  # noqa: E402
from tests.support.botapi_standin import BotApiStandIn, FakeUser  # noqa: E402

from cardbot.db.migrate import upgrade  # noqa: E402
from cardbot.db.models import AnswerRow, ApplicantRow, ApplicationRow  # noqa: E402

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
VALID_ID = "11010519491231002X"
RATE = 50.0  # offered updates per second
TEXT_STEPS: list[tuple[str, str]] = [
    ("text", "/start"),
    ("press", "consent:yes"),
    ("press", "cat:individual"),
    ("text", "张三"),
    ("press", "pick:id_type:resident_id"),
    ("text", VALID_ID),
    ("text", "审批要多久？"),
    ("text", "13800138000"),
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """What one run of one bot measured."""

    updates: int = 0
    cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    db_bytes_per_application: float | None = None

    def add(self, other: Measured) -> None:
        """Pool another run of the same bot into this one."""
        self.updates += other.updates
        self.cpu_seconds += other.cpu_seconds
        self.latencies_ms += other.latencies_ms
        self.peak_rss_mb = max(self.peak_rss_mb, other.peak_rss_mb)
        if other.db_bytes_per_application is not None:
            self.db_bytes_per_application = other.db_bytes_per_application

    @property
    def cpu_ms_per_update(self) -> float:
        """CPU milliseconds the bot process spent per update."""
        return 1000 * self.cpu_seconds / max(self.updates, 1)

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.asynccontextmanager
async def bot_process(
    kind: str, api: BotApiStandIn, workdir: Path, database_url: str, *, ocr: str = "off"
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start cardbot or the bare bot against the stand-in; stop it with SIGTERM afterwards
    (cardbot reads documents only with `ocr` "on")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARDBOT_", "BENCH_"))}
    if kind == "cardbot":
        command = [sys.executable, "-m", "cardbot", "run"]
        env |= {
            "CARDBOT_TOKEN": TOKEN,
            "CARDBOT_BOT_API_URL": api.base_url,
            "CARDBOT_DATA_DIR": str(workdir / "data"),
            "CARDBOT_DATABASE_URL": database_url,
            "CARDBOT_DIALOGS_DIR": str(ROOT / "dialogs"),
            "CARDBOT_FAQ_DIR": str(ROOT / "faq"),
            # Telegram allows about 30 messages a second per bot and about one a second per
            # chat after a burst, and cardbot keeps to that; the stand-in here does not limit,
            # so neither does cardbot (the bare bot does not either): we measure cardbot.
            "CARDBOT_MESSAGES_PER_SECOND": "10000",
            "CARDBOT_PRIVATE_CHAT_BURST": "100",
            "CARDBOT_GROUP_MESSAGES_PER_MINUTE": "1000",
            # Off: the typed flow, as before documents were read, which the traffic types
            # (with reading on, the documents come first and their answers are proposed).
            "CARDBOT_OCR": ocr,
        }
    else:
        command = [sys.executable, str(ROOT / "bench" / "bare_bot.py")]
        env |= {"BENCH_TOKEN": TOKEN, "BENCH_API_URL": api.base_url}
    polls = sum(1 for method, _ in api.calls if method == "getUpdates")
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await api.wait_until(
            lambda: sum(1 for method, _ in api.calls if method == "getUpdates") > polls,
            timeout=60,
            what=f"{kind} polling",
        )
        await api.wait_idle(quiet=0.5, timeout=30)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def offer(api: BotApiStandIn, user: FakeUser, step: tuple[str, str]) -> None:
    """Send one scripted update as the user."""
    kind, payload = step
    if kind == "text":
        api.send_text(user, payload)
    else:
        sent = api.messages_to(user.id)
        if not sent:
            api.send_text(user, "/start")
            return
        api.press_button(user, sent[-1], payload)


async def drive(
    api: BotApiStandIn, users: list[FakeUser], steps: list[tuple[str, str]], measured: Measured
) -> None:
    """Offer every user's steps at RATE updates per second; time each first reply."""
    start = time.monotonic()
    waits = []
    for index in range(len(users) * len(steps)):
        step_index, user_index = divmod(index, len(users))
        user = users[user_index]
        delay = start + index / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        before = len(api.messages_to(user.id))
        offered = time.monotonic()
        await offer(api, user, steps[step_index])
        waits.append(asyncio.create_task(first_reply(api, user, before, offered, measured)))
        measured.updates += 1
    await asyncio.gather(*waits)


async def first_reply(
    api: BotApiStandIn, user: FakeUser, before: int, offered: float, measured: Measured
) -> None:
    """Record the time until the chat's message count grows."""
    with contextlib.suppress(TimeoutError):
        await api.wait_until(lambda: len(api.messages_to(user.id)) > before, timeout=20)
        measured.latencies_ms.append(1000 * (time.monotonic() - offered))


async def upload_albums(api: BotApiStandIn, users: list[FakeUser], measured: Measured) -> None:
    """Each user sends both sides of the ID card as an album; time the one reply to it."""
    photos = [files.photo(seed=1), files.photo(seed=2)]
    for user in users:
        before = len(api.messages_to(user.id))
        offered = time.monotonic()
        api.send_album(user, [photos[0], photos[1] + uuid.uuid4().bytes])
        measured.updates += 2
        await first_reply(api, user, before, offered, measured)


def make_users(count: int, first_id: int) -> list[FakeUser]:
    """Simulated applicants."""
    return [FakeUser(first_id + i, f"U{i}", language_code="zh-hans") for i in range(count)]


async def measure_bot(
    kind: str, database_url: str, users: int, *, uploads: bool = False, first_id: int = 10_000
) -> tuple[Measured, Measured | None]:
    """One bot, fresh stand-in: text and button traffic, then (optionally) uploads."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        async with (
            BotApiStandIn(
                TOKEN, private_chat_rate=1000.0, private_chat_burst=1000, global_rate=100_000
            ) as api,
            bot_process(kind, api, workdir, database_url) as process,
        ):
            # warm up both bots alike (imports, caches, first queries) before measuring
            await drive(api, make_users(2, first_id + 50_000), TEXT_STEPS, Measured())
            await api.wait_idle(quiet=0.5, timeout=60)
            people = make_users(users, first_id)
            size_before = database_bytes(database_url) if kind == "cardbot" else 0.0
            text_run = Measured()
            cpu_before = cpu_seconds(process.pid)
            await drive(api, people, TEXT_STEPS, text_run)
            await api.wait_idle(quiet=0.5, timeout=60)
            text_run.cpu_seconds = cpu_seconds(process.pid) - cpu_before
            text_run.peak_rss_mb = peak_rss_mb(process.pid)
            upload_run = None
            if uploads:
                upload_run = Measured()
                cpu_before = cpu_seconds(process.pid)
                await upload_albums(api, people, upload_run)
                await api.wait_idle(quiet=0.5, timeout=60)
                upload_run.cpu_seconds = cpu_seconds(process.pid) - cpu_before
                upload_run.peak_rss_mb = peak_rss_mb(process.pid)
            if kind == "cardbot":
                grown = database_bytes(database_url) - size_before
                text_run.db_bytes_per_application = grown / users
    return text_run, upload_run


def database_bytes(database_url: str) -> float:
    """The bytes the database's tables and indexes take (SQLite: pages in use, after moving
    the write-ahead log into the file; PostgreSQL: pg_database_size)."""
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            pages, free, size = (
                db.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_count", "freelist_count", "page_size")
            )
        return float((pages - free) * size)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        size = conn.execute(text("select pg_database_size(current_database())")).scalar()
    engine.dispose()
    return float(size or 0)


def store_applications(database_url: str, count: int) -> None:
    """Fill the database with `count` submitted applications (and their applicants)."""
    upgrade(database_url)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, count, batch):
            ids = range(start + 1, min(start + batch, count) + 1)
            conn.execute(
                insert(ApplicationRow),
                [
                    {
                        "id": i,
                        "number": f"DX-2025-{i:06d}",
                        "user_id": 5_000_000 + i,
                        "category": "individual",
                        "status": "submitted",
                        "skipped": [],
                        "flags": [],
                        "created_at": now,
                        "submitted_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(AnswerRow),
                [
                    {"application_id": i, "field": field, "value": value}
                    for i in ids
                    for field, value in (
                        ("full_name", "张三"),
                        ("id_number", VALID_ID),
                        ("phone", "+8613800138000"),
                    )
                ],
            )
            conn.execute(
                insert(ApplicantRow),
                [
                    {
                        "user_id": 5_000_000 + i,
                        "chat_id": 5_000_000 + i,
                        "language": "zh",
                        "state": "submitted",
                        "application_id": i,
                        "slot_index": 0,
                        "version": 1,
                    }
                    for i in ids
                ],
            )
    engine.dispose()


@contextlib.contextmanager
def fresh_database(kind: str) -> Any:
    """A new SQLite file or PostgreSQL database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    server = os.environ.get(
        "CARDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test"
    )
    name = f"cardbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Paired:
    """One cardbot configuration and the bare bot measured just before each of its runs."""

    cardbot: Measured = field(default_factory=Measured)
    bare: Measured = field(default_factory=Measured)
    ratios: list[float] = field(default_factory=list)
    uploads: Measured | None = None
    stored_bytes_per_application: float | None = None

    @property
    def ratio(self) -> float:
        """cardbot's CPU per update over the bare bot's, all runs pooled."""
        return self.cardbot.cpu_ms_per_update / self.bare.cpu_ms_per_update


async def paired_runs(
    paired: Paired, database: str, users: int, rounds: int, stored: int = 0
) -> None:
    """`rounds` times: the bare bot, then cardbot on a fresh `database` (with `stored`
    applications already in it); uploads are measured in the first round."""
    for turn in range(rounds):
        with fresh_database("sqlite") as url:
            bare, _ = await measure_bot("bare", url, users)
        with fresh_database(database) as url:
            if stored:
                store_applications(url, stored)
                paired.stored_bytes_per_application = database_bytes(url) / stored
            ours, uploads = await measure_bot(
                "cardbot", url, users, uploads=turn == 0 and not stored
            )
        paired.bare.add(bare)
        paired.cardbot.add(ours)
        paired.uploads = paired.uploads or uploads
        paired.ratios.append(ours.cpu_ms_per_update / bare.cpu_ms_per_update)


async def run_all(quick: bool) -> dict[str, Paired]:
    """Every measurement; `quick` keeps to SQLite, fewer applicants and a smaller store.

    Each cardbot run follows a run of the bare bot, and the ratio is taken against those: on
    a small shared machine the same run can differ by a fifth from one minute to the next.
    """
    users = int(os.environ.get("BENCH_USERS", 20 if quick else 40))
    rounds = int(os.environ.get("BENCH_ROUNDS", 2 if quick else 3))
    stored = 10_000 if quick else 100_000
    results: dict[str, Paired] = {}
    for database in ("sqlite",) if quick else ("sqlite", "postgresql"):
        results[database] = Paired()
        await paired_runs(results[database], database, users, rounds)
        name = f"{database}, {stored:,} stored"
        results[name] = Paired()
        await paired_runs(results[name], database, users, 1 if quick else 2, stored)
    return results


def run(quick: bool = False) -> dict[str, Any]:
    """Run the end-to-end benchmark and return the measurements by name."""
    return asyncio.run(run_all(quick))


def table(results: dict[str, Paired]) -> list[str]:
    """The results as printable lines, with cardbot's CPU per update relative to the bare bot
    measured beside it."""
    lines = [
        f"{'run':<34} {'updates':>7} {'CPU ms/upd':>10} {'× bare':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'peak MB':>8} {'DB KB/app':>9}"
    ]

    def line(name: str, m: Measured, ratio: float) -> str:
        per_app = f"{m.db_bytes_per_application / 1024:.1f}" if m.db_bytes_per_application else "-"
        return (
            f"{name:<34} {m.updates:>7} {m.cpu_ms_per_update:>10.2f} {ratio:>7.2f} "
            f"{m.percentile(0.5):>7.1f} {m.percentile(0.99):>7.1f} {m.peak_rss_mb:>8.1f} "
            f"{per_app:>9}"
        )

    for name, paired in results.items():
        lines.append(line(f"bare (beside {name})", paired.bare, 1.0))
        lines.append(line(f"cardbot {name}", paired.cardbot, paired.ratio))
        if paired.stored_bytes_per_application is not None:
            size = paired.stored_bytes_per_application / 1024
            lines.append(f"  ({name}: the database holds {size:.1f} KB per stored application)")
        if paired.uploads is not None:
            ratio = paired.uploads.cpu_ms_per_update / paired.bare.cpu_ms_per_update
            lines.append(line(f"cardbot {name}, uploads", paired.uploads, ratio))
    lines.append(
        "ratio in each round: "
        + "; ".join(
            f"{name} " + ", ".join(f"{r:.2f}" for r in paired.ratios)
            for name, paired in results.items()
        )
    )
    return lines


def main() -> None:
    """Print the table."""
    for line in table(run(quick="--quick" in sys.argv)):
        print(line)


if __name__ == "__main__":
    main()
