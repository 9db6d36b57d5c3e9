"""Let a reader that outruns its server wait once per batch instead of once per network packet.

When the server sends rows more slowly than the driver decodes them, the driver's read finds the
socket empty after every packet (PostgreSQL flushes its COPY output 8 KiB at a time), and its
thread sleeps and wakes for each one, tens of thousands of times in one export, which costs the
exporter's CPU and the server's. Waiting for most of that idle time *before* asking for the next
batch lets the packets gather in the socket's receive buffer, and the driver then takes them in a
few large reads (docs/client-pipeline.md, "Reading at the server's pace").

The wait follows the server. After each batch the next gap is a share of the time the reader was
idle around it: the gap it slept, plus what the fetch spent neither on a CPU nor waiting for one
(Linux's per-thread schedstat), which is time spent waiting on the socket. A server that keeps up
leaves no such time and the gap stays at zero; a slower one settles the gap at that share of its
time per batch, so the rest is still waited inside the fetch and the reader is never the one that
is late. Time a busy machine keeps the reader from running is not idle time and adds no gap; where
the schedstat is unknown, nothing is paced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")

# The share of a batch's idle time slept before the next fetch: below 1, so the gap stays shorter
# than the time the server takes per batch.
IDLE_SHARE = 0.7
# At most this long: short enough that what a fast server sends meanwhile fits a socket's buffer.
LONGEST_GAP = 0.025
# Shorter gaps are not slept: a sleep is a wake-up too.
SHORTEST_GAP = 0.001


def ready_seconds() -> float | None:
    """The calling thread's time on a CPU or runnable and waiting for one; None where unknown.

    The CPU time is the thread's clock (exact at any moment); the time spent runnable is Linux's
    schedstat ``run_delay``, which is complete whenever the thread itself reads it.
    """
    try:
        with open("/proc/thread-self/schedstat", "rb") as stats:
            runnable_ns = int(stats.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return time.thread_time() + runnable_ns / 1e9


def paced(
    batches: Iterable[Item],
    *,
    clock: Callable[[], float] = time.monotonic,
    ready: Callable[[], float | None] = ready_seconds,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Item]:
    """Yield ``batches``, sleeping before each fetch after the first as the module describes.

    :param batches: What the driver yields; each ``next`` may wait on the server.
    :param clock: Wall-clock seconds.
    :param ready: The calling thread's running-or-runnable seconds (None: unknown, no pacing).
    :param sleep: Sleeps the given seconds.
    """
    iterator = iter(batches)
    gap, first = 0.0, True
    fetched_at = clock()
    while True:
        slept = gap - (clock() - fetched_at)
        if slept >= SHORTEST_GAP:
            sleep(slept)
        else:
            slept = 0.0
        started, ready_at_start = clock(), ready()
        try:
            item = next(iterator)
        except StopIteration:
            return
        fetched_at, ready_at_end = clock(), ready()
        if ready_at_start is not None and ready_at_end is not None and not first:
            idle = max(0.0, (fetched_at - started) - (ready_at_end - ready_at_start))
            gap = min(LONGEST_GAP, IDLE_SHARE * (slept + idle))
        # The first fetch waits for the statement to start, not for its rows: no gap from it.
        first = False
        yield item
