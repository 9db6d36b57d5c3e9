"""Keep the worker's memory flat: cap glibc's malloc arenas before the export starts its threads.

glibc gives each new thread its own malloc arena (up to 8 per core), and every arena keeps the memory
freed into it. The export's reader, encoder and upload threads pass multi-megabyte buffers between
one another, so several arenas each end up holding tens of megabytes nobody uses; two arenas
lowered the peak resident memory of a 20M-row export (docs/benchmarks.md). The cap applies to
threads started afterwards, in this task process only; a ``MALLOC_ARENA_MAX`` set in the
environment is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt() parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's arenas at ``arenas``; False where that does not apply (not glibc, or already set)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    applied = bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("glibc malloc arenas capped at %d: %s", arenas, applied)
    return applied
