"""Reading at upload, end to end: how long after an album of the ID card the applicant gets the
bot's answer and then the proposal of what was read, one applicant at a time and with every
applicant sending their album at the same moment (the reading pool then has a queue); how long
another applicant, only typing, waits for each answer meanwhile; and all of it with reading
off, as the baseline in the same run.

    .venv/bin/python bench/prefill.py [--applicants N]

`cardbot run` (SQLite) polls a local Bot API stand-in; each applicant sends /start, consents,
chooses "individual", answers what the flow asks before the ID card and sends both sides of a
synthetic ID card (tests/support/synthetic_documents.py, fixed seeds) as one album; the typist
sends /status twice a second. Timings are reported, never asserted.
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

from tests.support.botapi_standin import BotApiStandIn, FakeUser
from tests.support.harness import VALID_ID, VALID_PHONE
from tests.support.synthetic_documents import id_card

from e2e import TOKEN, bot_process, cpu_seconds


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
    api: BotApiStandIn,
    user: FakeUser,
    seed: int,
    timings: Timings,
    reading: bool,
    *,
    begun: bool = False,
) -> None:
    """Send the ID card as an album; time the answer and (reading) the proposal."""
    if not begun:
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


async def typist(
    api: BotApiStandIn, user: FakeUser, reading: bool, stop: asyncio.Event, waits: list[float]
) -> None:
    """An applicant who only types (/status, twice a second) until `stop`; each wait timed."""
    await begin(api, user, reading)
    while not stop.is_set():
        before = len(api.messages_to(user.id))
        sent = time.monotonic()
        api.send_text(user, "/status")
        waits.append(1000 * (await until_messages(api, user, before + 1, 60) - sent))
        await asyncio.sleep(0.5)


async def run(ocr: str, applicants: int, together: bool) -> tuple[Timings, list[float]]:
    """One `cardbot run`: a warm-up applicant, then the measured ones (one after another, or
    all at once) while the typist types; the typist's waits are returned too."""
    timings = Timings()
    typed: list[float] = []
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
            stop = asyncio.Event()
            typing = asyncio.create_task(
                typist(api, FakeUser(90_001, "typist"), reading, stop, typed)
            )
            users = [
                FakeUser(91_000 + index, f"A{index}", language_code="zh-hans")
                for index in range(applicants)
            ]
            if together:
                await asyncio.gather(*(begin(api, user, reading) for user in users))
                await asyncio.gather(
                    *(
                        apply_with_photos(api, user, 10 + i, timings, reading, begun=True)
                        for i, user in enumerate(users)
                    )
                )
            else:
                for index, user in enumerate(users):
                    await apply_with_photos(api, user, 10 + index, timings, reading)
            stop.set()
            await typing
            await api.wait_idle(quiet=1.0, timeout=120)
            timings.cpu_seconds = cpu_seconds(process.pid) - cpu_before
    return timings, typed


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=6)
    args = parser.parse_args()
    print(
        f"{'run':<34} {'n':>3} {'answer p50':>9} {'max':>8} {'proposal':>9} {'max':>9} "
        f"{'right':>5} {'CPU s':>7}   typist p50 / max ms"
    )
    results = {}
    for name, ocr, together in (
        ("reading off, one at a time", "off", False),
        ("reading on, one at a time", "on", False),
        ("reading off, all at once", "off", True),
        ("reading on, all at once", "on", True),
    ):
        timings, typed = asyncio.run(run(ocr, args.applicants, together))
        results[name] = timings
        print(timings.line(name) + f"   {statistics.median(typed):>6.0f} / {max(typed):.0f}")
    for mode in ("one at a time", "all at once"):
        base = statistics.median(results[f"reading off, {mode}"].answer_ms)
        ratio = statistics.median(results[f"reading on, {mode}"].answer_ms) / base
        print(f"answer to the album, reading on against off, {mode}: {ratio:.2f}×")


if __name__ == "__main__":
    main()
