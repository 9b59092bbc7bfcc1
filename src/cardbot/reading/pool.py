"""Reading documents off the update path: a bounded pool of worker processes, as pre-screening
judges files (core/bounded_check.py, same pebble pool from the same fork server), each held to
its own limits per document. The OCR model loads once per worker, on its first document.

This module imports no OCR: the bot process stays as it was. A document that takes too long,
crashes its worker or cannot be read gives "nothing read" — never an exception to the caller.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
from collections.abc import Iterable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from pathlib import Path

from cardbot.core.bounded_check import WorkerPool
from cardbot.reading.model import FAILED, OFF, READABLE_KINDS, Reading, nothing_read

MIB = 1024 * 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadingLimits:
    """What reading one document may take; past any of these it is "nothing read"."""

    # A clear card takes 0.6–1.2 s of CPU; the first document of a worker adds the model's
    # loading (about 1 s).
    cpu_seconds: float = 8.0
    # The per-document timeout, waiting in the queue not included.
    wall_seconds: float = 20.0
    # The whole worker: interpreter, ONNX Runtime, OpenCV and the three models.
    memory_bytes: int = 2048 * MIB
    workers: int = 1


def installed() -> bool:
    """True when the OCR packages (the `ocr` extra) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("rapidocr_onnxruntime",))


_POOL = WorkerPool(ReadingLimits())


def configure(limits: ReadingLimits) -> None:
    """Read within these limits from now on (tests shrink them; the workers restart)."""
    _POOL.configure(limits)


def shutdown() -> None:
    """Stop the reading workers; the next reading starts them again."""
    _POOL.stop()


def schedule_reading(kind: str, source: Path | bytes) -> Future[Reading]:
    """Start reading the document photo expected to be `kind`; the future always ends in a
    Reading ("nothing read" on timeout or failure), never in an exception."""
    done: Future[Reading] = Future()
    if kind not in READABLE_KINDS:
        done.set_result(nothing_read(kind, OFF))
        return done
    limits = _POOL.limits
    payload: str | bytes = source if isinstance(source, bytes) else str(source)
    try:
        future = _POOL.get().schedule(  # type: ignore[attr-defined]
            _read_in_worker, args=(kind, payload, limits.cpu_seconds), timeout=limits.wall_seconds
        )
    except (RuntimeError, OSError, ValueError):
        log.warning("document reading could not start", exc_info=True)
        done.set_result(nothing_read(kind))
        return done
    future.add_done_callback(lambda f: done.set_result(_outcome(kind, f)))
    return done


def read_all(sources: Iterable[tuple[str, Path | bytes]]) -> list[Reading]:
    """Read several document photos (kind, file or bytes) side by side in the pool, and wait
    for them all; each that cannot be read in time is "nothing read"."""
    futures = [schedule_reading(kind, source) for kind, source in sources]
    return [future.result() for future in futures]


def read_document(kind: str, source: Path | bytes) -> Reading:
    """Read the document photo expected to be `kind`, waiting at most the per-document
    timeout; "nothing read" on timeout or failure."""
    return schedule_reading(kind, source).result()


def _outcome(kind: str, future: Future[Reading]) -> Reading:
    """The worker's reading, or "nothing read" with the reason logged (never the content)."""
    try:
        return future.result()
    except (TimeoutError, CancelledError):
        log.info("reading a %s timed out", kind)
    except Exception as exc:  # a crash, the CPU alarm, a memory limit, an unreadable file
        log.info("reading a %s failed: %s", kind, exc.__class__.__name__)
    return nothing_read(kind, FAILED)


def _read_in_worker(kind: str, source: str | bytes, cpu_seconds: float) -> Reading:
    """Run in a worker: read the document with a CPU-time alarm set (SIGPROF ends the worker)."""
    from cardbot.reading.engine import read_image

    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    try:
        return read_image(kind, source if isinstance(source, bytes) else Path(source))
    except MemoryError:
        return nothing_read(kind, FAILED)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
