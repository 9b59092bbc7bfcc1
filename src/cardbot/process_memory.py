"""Keep a long-running process's memory small: glibc's allocator otherwise gives each thread
that allocates its own arena (cardbot's update handlers run on several threads), and memory
freed in one arena cannot serve another."""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt's parameter number for the arena limit (glibc's malloc.h).
M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc to share `arenas` allocation arenas among all threads (as MALLOC_ARENA_MAX
    does); True when it took effect (False on another C library)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
