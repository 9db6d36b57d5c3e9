"""The reader's pacing (read_pacing.py) on a simulated clock: a server slower or faster than the
driver, a busy machine, a thread whose schedstat is unknown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from airflow_provider_materialize.export.client.read_pacing import IDLE_SHARE, LONGEST_GAP, paced


@dataclass
class SimulatedRead:
    """Batch k is whole on the socket at ``start + k * period``; decoding one takes ``decode`` of
    CPU; ``runnable`` more of each fetch is spent waiting for a CPU on a busy machine."""

    batches: int
    period: float
    decode: float
    start: float = 0.0
    runnable: float = 0.0
    now: float = 0.0
    ready_total: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def ready(self) -> float | None:
        return self.ready_total

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def rows(self) -> Iterator[int]:
        for k in range(1, self.batches + 1):
            busy = self.decode + self.runnable
            self.now = max(self.now + busy, self.start + k * self.period)
            self.ready_total += busy
            yield k


def _read(read: SimulatedRead, ready: Callable[[], float | None] | None = None) -> list[int]:
    return list(paced(read.rows(), clock=read.clock, ready=ready or read.ready, sleep=read.sleep))


def test_a_slower_server_is_waited_for_between_batches_not_inside_them() -> None:
    read = SimulatedRead(batches=200, period=0.024, decode=0.007)
    assert _read(read) == list(range(1, 201))
    settled = read.sleeps[-50:]
    # The gap settles at the share of the server's time per batch that decoding leaves idle ...
    assert settled == pytest.approx([IDLE_SHARE * (0.024 - 0.007)] * 50, rel=0.01)
    # ... and the read ends when the server's last batch does (plus one gap before the fetch that
    # finds the end): the reader is never the late one.
    assert 200 * 0.024 <= read.now <= 200 * 0.024 + settled[-1] + 1e-9


def test_a_server_that_keeps_up_is_not_waited_for() -> None:
    read = SimulatedRead(batches=50, period=0.0, decode=0.007)
    assert _read(read) == list(range(1, 51))
    assert read.sleeps == []


def test_the_first_fetch_waiting_for_the_statement_adds_no_gap() -> None:
    read = SimulatedRead(batches=20, period=0.0, decode=0.007, start=2.0)
    _read(read)
    assert read.sleeps == []


def test_time_a_busy_machine_keeps_the_reader_from_running_is_not_idle() -> None:
    read = SimulatedRead(batches=50, period=0.0, decode=0.007, runnable=0.02)
    _read(read)
    assert read.sleeps == []


def test_the_gap_is_capped() -> None:
    read = SimulatedRead(batches=20, period=1.0, decode=0.007)
    _read(read)
    assert read.sleeps and max(read.sleeps) == LONGEST_GAP


def test_no_pacing_where_the_thread_schedstat_is_unknown() -> None:
    read = SimulatedRead(batches=50, period=0.024, decode=0.007)
    assert _read(read, ready=lambda: None) == list(range(1, 51))
    assert read.sleeps == []


def test_the_schedstat_of_this_thread_is_read_on_linux() -> None:
    from airflow_provider_materialize.export.client.read_pacing import ready_seconds

    first = ready_seconds()
    if first is None:
        pytest.skip("no /proc/thread-self/schedstat here")
    sum(range(2_000_000))
    second = ready_seconds()
    assert second is not None and second > first
