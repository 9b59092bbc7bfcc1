"""Judging a file within hard bounds: a warm pool of worker processes, each limited in
memory (RLIMIT_AS) and, for every file, in CPU time (a profiling timer whose signal ends the
worker); a worker that goes past a bound is replaced and the file is `file_too_complex`.

The workers are forked from a fork server that has Pillow and pypdf loaded: starting or
replacing one takes milliseconds, and the calling process (the bot's threads, or
`cardbot prescreen`) never decodes a file itself nor is forked while it runs threads (the bot
does load Pillow and imagehash to hash the small thumbnail a worker returns: image_hash.py).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

TOO_COMPLEX = "file_too_complex"
MIB = 1024 * 1024
_WORKER_MODULE = "cardbot.core.file_judge"


@dataclass(frozen=True)
class Limits:
    """What judging one file may take; past any of these the file is too complex."""

    cpu_seconds: float = 2.0
    # The whole worker process: interpreter, Pillow and pypdf (about 80 MiB) and the file.
    memory_bytes: int = 256 * MIB
    # A stand-by for CPU time: a worker stalled on input/output, or starved on a busy host.
    wall_seconds: float = 30.0
    workers: int = max(1, min(2, os.cpu_count() or 1))


class WorkerLimits(Protocol):
    """What a pool of bounded workers needs to know of its limits."""

    @property
    def workers(self) -> int:
        """How many worker processes."""
        ...

    @property
    def memory_bytes(self) -> int:
        """The address space of each worker."""
        ...


LimitsT = TypeVar("LimitsT", bound=WorkerLimits)


class WorkerPool(Generic[LimitsT]):
    """A pebble pool of bounded worker processes for this process, started on first use from
    a fork server that has `preload` imported; each worker's address space is capped and the
    CPU alarm (SIGPROF) ends it. Also used for reading documents (cardbot/reading/pool.py)."""

    def __init__(self, limits: LimitsT, preload: tuple[str, ...] = ()) -> None:
        self.lock = threading.Lock()
        self.limits = limits
        self.preload = preload
        self.pool: object | None = None
        self.pid = 0
        atexit.register(self.stop)

    def get(self) -> object:
        """The running pool (a new one after a fork or a change of limits)."""
        from pebble import ProcessPool

        with self.lock:
            if self.pool is None or self.pid != os.getpid():
                context = multiprocessing.get_context("forkserver")
                if self.preload:
                    context.set_forkserver_preload(list(self.preload))
                self.pool = ProcessPool(
                    max_workers=self.limits.workers,
                    initializer=_start_worker,
                    initargs=(self.limits.memory_bytes,),
                    context=context,
                )
                self.pid = os.getpid()
            return self.pool

    def stop(self) -> None:
        """Stop the workers (the next use starts new ones)."""
        with self.lock:
            pool, self.pool = self.pool, None
            if pool is not None and self.pid == os.getpid():
                pool.stop()  # type: ignore[attr-defined]
                pool.join()  # type: ignore[attr-defined]

    def configure(self, limits: LimitsT) -> None:
        """Work within these limits from now on (the workers restart)."""
        self.stop()
        self.limits = limits


_POOL = WorkerPool(Limits(), (_WORKER_MODULE,))


def configure(limits: Limits) -> None:
    """Judge files within these limits from now on (tests shrink them; workers restart)."""
    _POOL.configure(limits)


def current_limits() -> Limits:
    """The limits files are judged within."""
    return _POOL.limits


def shutdown() -> None:
    """Stop the worker processes; the next check starts them again."""
    _POOL.stop()


def judge_bounded(path: Path, kind: str, offset: int = 0) -> str | None:
    """Judge the file's content in a worker: a problem code, None when fit for review, or
    `file_too_complex` when judging it went past the limits."""
    return examine_bounded(path, kind, offset)[0]


def examine_bounded(path: Path, kind: str, offset: int = 0) -> tuple[str | None, bytes | None]:
    """Judge the file's content in a worker as `judge_bounded` does; a photo fit for review
    comes with its thumbnail for the perceptual hash (decoded within the same bounds)."""
    from pebble import ProcessExpired

    limits = _POOL.limits
    for _attempt in range(2):
        pool = _POOL.get()
        try:
            future = pool.schedule(  # type: ignore[attr-defined]
                _judge_in_worker,
                args=(str(path), kind, offset, limits.cpu_seconds),
                timeout=limits.wall_seconds,
            )
            result: tuple[str | None, bytes | None] = future.result()
            return result
        except (ProcessExpired, TimeoutError):
            return TOO_COMPLEX, None
        except (CancelledError, RuntimeError):  # the pool was stopped under us: once more
            continue
    return TOO_COMPLEX, None


def _start_worker(memory_bytes: int) -> None:
    """Cap the worker's address space; the CPU timer's signal is left to end the process."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGPROF, signal.SIG_DFL)


def _judge_in_worker(
    path: str, kind: str, offset: int, cpu_seconds: float
) -> tuple[str | None, bytes | None]:
    """Run in a worker: judge the file (and take a photo's hash thumbnail) with a CPU-time
    alarm set (SIGPROF ends the worker)."""
    from cardbot.core.file_judge import examine_content

    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    try:
        return examine_content(Path(path), kind, offset)
    except MemoryError:
        return TOO_COMPLEX, None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
