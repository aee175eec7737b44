"""Keeping a long-running server's memory flat: few malloc arenas.

glibc gives threads their own malloc arenas, up to eight per core. A server whose 40 worker threads take
turns with SQLite, the embedding model and HTTP parsing spreads small, long-lived allocations over many
arenas, and the freed space in each stays mapped: under a ten-minute soak (`rathaus bench soak`) resident
memory kept growing while Python's own allocations did not. Two arenas keep it flat at no measured cost
(docs/benchmarks.md). An operator's own `MALLOC_ARENA_MAX` wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

ARENAS = 2
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h

logger = logging.getLogger(__name__)


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc for at most `arenas` malloc arenas; False where that does not apply (not glibc, or the
    operator set MALLOC_ARENA_MAX). Call before the server starts its threads."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        if not hasattr(libc, "gnu_get_libc_version"):
            return False
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except OSError:
        logger.debug("could not limit malloc arenas", exc_info=True)
        return False
