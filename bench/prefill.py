"""Reading at upload, end to end: how long after an album of the ID card the applicant gets the
bot's answer and then the proposal of what was read, quiet and while another applicant floods
the bot with photos; and the same answer with reading off, as the baseline in the same run.

    .venv/bin/python bench/prefill.py [--applicants N]

`cardbot run` (SQLite) polls a local Bot API stand-in; each applicant sends /start, consents,
chooses "individual", types a phone number and sends both sides of a synthetic ID card
(tests/support/synthetic_documents.py, fixed seeds) as one album. Timings are reported, never
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser
from tests.support.harness import VALID_ID, VALID_PHONE
from tests.support.synthetic_documents import id_card

from e2e import TOKEN, bot_process, cpu_seconds

FLOOD_PHOTOS = 20


@dataclass
class Timings:
    """What one run measured, per applicant, in milliseconds."""

    answer_ms: list[float] = field(default_factory=list)
    proposal_ms: list[float] = field(default_factory=list)
    right: int = 0
    cpu_seconds: float = 0.0

    def line(self, name: str) -> str:
        """One row of the table."""
        proposal = (
            f"{statistics.median(self.proposal_ms):>9.0f} {max(self.proposal_ms):>9.0f}"
            if self.proposal_ms
            else f"{'-':>9} {'-':>9}"
        )
        return (
            f"{name:<34} {len(self.answer_ms):>3} {statistics.median(self.answer_ms):>9.0f} "
            f"{max(self.answer_ms):>8.0f} {proposal} {self.right:>5} {self.cpu_seconds:>7.1f}"
        )


async def until_messages(api: BotApiStandIn, user: FakeUser, count: int, timeout: float) -> float:
    """Wait until the chat has `count` messages; the moment it happened."""
    await api.wait_until(lambda: len(api.messages_to(user.id)) >= count, timeout, "a reply")
    return time.monotonic()


async def say(api: BotApiStandIn, user: FakeUser, text: str) -> None:
    """Type a message and wait for the answer."""
    before = len(api.messages_to(user.id))
    api.send_text(user, text)
    await until_messages(api, user, before + 1, 30)


async def tap(api: BotApiStandIn, user: FakeUser, label: str) -> None:
    """Tap a button of the last message and wait for the answer."""
    before = len(api.messages_to(user.id))
    last = api.messages_to(user.id)[-1]
    api.press_button(user, last, last.button_data(label))
    await until_messages(api, user, before + 1, 30)


async def begin(api: BotApiStandIn, user: FakeUser, reading: bool) -> None:
    """/start, consent, "individual", and what the flow asks before the ID card: the phone
    number (reading on), or the name, ID type and number and phone (the typed flow)."""
    api.send_text(user, "/start")
    await until_messages(api, user, 2, 30)
    await tap(api, user, "同意")
    await tap(api, user, "个人")
    if not reading:
        await say(api, user, "王芳")
        await tap(api, user, "居民身份证")
        await say(api, user, VALID_ID)
    await say(api, user, VALID_PHONE)


async def apply_with_photos(
    api: BotApiStandIn, user: FakeUser, seed: int, timings: Timings, reading: bool
) -> None:
    """Send the ID card as an album; time the answer and (reading) the proposal."""
    await begin(api, user, reading)
    front, back = id_card("clear", seed=seed)
    before = len(api.messages_to(user.id))
    sent = time.monotonic()
    api.send_album(user, [front.image, back.image])
    answered = await until_messages(api, user, before + 1, 60)
    timings.answer_ms.append(1000 * (answered - sent))
    if reading:
        proposed = await until_messages(api, user, before + 2, 120)
        timings.proposal_ms.append(1000 * (proposed - sent))
        text = api.messages_to(user.id)[before + 1].plain
        timings.right += front.truth.name in text and front.truth.id_number[-4:] in text


async def flood(api: BotApiStandIn, user: FakeUser) -> None:
    """One applicant at the ID card's question sends twenty photos, one after another."""
    await begin(api, user, reading=True)
    for index in range(FLOOD_PHOTOS):
        api.send_photo(user, files.photo(seed=1000 + index))
        await asyncio.sleep(0.05)


async def run(ocr: str, applicants: int, flooded: bool) -> Timings:
    """One `cardbot run`: a warm-up applicant, then the measured ones (one after another)."""
    timings = Timings()
    reading = ocr == "on"
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = f"sqlite:///{workdir / 'cardbot.db'}"
        async with (
            BotApiStandIn(
                TOKEN, private_chat_rate=1000.0, private_chat_burst=1000, global_rate=100_000
            ) as api,
            bot_process("cardbot", api, workdir, database, ocr=ocr) as process,
        ):
            await apply_with_photos(api, FakeUser(90_000, "warm"), 99, Timings(), reading)
            cpu_before = cpu_seconds(process.pid)
            flooding = (
                asyncio.create_task(flood(api, FakeUser(90_001, "flood"))) if flooded else None
            )
            for index in range(applicants):
                user = FakeUser(91_000 + index, f"A{index}", language_code="zh-hans")
                await apply_with_photos(api, user, 10 + index, timings, reading)
            if flooding is not None:
                await flooding
            await api.wait_idle(quiet=1.0, timeout=120)
            timings.cpu_seconds = cpu_seconds(process.pid) - cpu_before
    return timings


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=6)
    args = parser.parse_args()
    print(
        f"{'run':<34} {'n':>3} {'answer p50':>9} {'max':>8} {'proposal':>9} {'max':>9} "
        f"{'right':>5} {'CPU s':>7}"
    )
    baseline = asyncio.run(run("off", args.applicants, flooded=False))
    print(baseline.line("reading off (typed flow)"))
    quiet = asyncio.run(run("on", args.applicants, flooded=False))
    print(quiet.line("reading on"))
    busy = asyncio.run(run("on", args.applicants, flooded=True))
    print(busy.line(f"reading on, another sends {FLOOD_PHOTOS} photos"))
    base = statistics.median(baseline.answer_ms)
    print(
        "answer to the album against reading off: "
        f"{statistics.median(quiet.answer_ms) / base:.2f}× quiet, "
        f"{statistics.median(busy.answer_ms) / base:.2f}× during the flood"
    )


if __name__ == "__main__":
    main()
