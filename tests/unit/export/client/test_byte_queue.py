"""The queue between reading and encoding holds at most its bytes, and lets one large item pass;
the snapshot stream reads further ahead until its batches are first iterated."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client.byte_queue import ByteBoundedQueue
from airflow_provider_materialize.export.client.snapshot_stream import SnapshotStream


def test_put_waits_while_the_bytes_would_exceed_the_bound() -> None:
    queue = ByteBoundedQueue(max_bytes=10)
    assert queue.put("a", 6, timeout=0)
    assert not queue.put("b", 6, timeout=0.05)  # 12 > 10
    assert queue.put("c", 4, timeout=0)  # exactly 10
    assert queue.held_bytes == 10
    assert queue.get() == "a"
    assert queue.put("b", 6, timeout=0)
    assert [queue.get(), queue.get()] == ["c", "b"]
    assert queue.peak_bytes == 10 and queue.held_bytes == 0


def test_one_item_larger_than_the_bound_passes_alone() -> None:
    queue = ByteBoundedQueue(max_bytes=10)
    assert queue.put("big", 100, timeout=0)
    assert not queue.put("small", 1, timeout=0.05)
    assert queue.get() == "big"
    assert queue.put("small", 1, timeout=0)


def test_a_waiting_producer_resumes_when_the_consumer_takes_or_clears() -> None:
    queue = ByteBoundedQueue(max_bytes=10)
    queue.put("a", 10)
    done = threading.Event()

    def produce() -> None:
        queue.put("b", 10)
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(0.05)
    assert not done.is_set()
    queue.clear()
    thread.join(timeout=5)
    assert done.is_set() and queue.get() == "b"


def test_get_times_out_on_an_empty_queue() -> None:
    with pytest.raises(TimeoutError):
        ByteBoundedQueue(max_bytes=1).get(timeout=0.01)


def test_a_lowered_bound_holds_the_producer_until_the_queue_drains_below_it() -> None:
    queue = ByteBoundedQueue(max_bytes=30)
    for name in "abc":
        assert queue.put(name, 10, timeout=0)
    queue.bound(10)
    assert queue.peak_bytes == 30  # what it holds now
    assert not queue.put("d", 10, timeout=0.05)  # 40 > 10
    assert [queue.get(), queue.get()] == ["a", "b"]
    assert not queue.put("d", 10, timeout=0.05)  # 20 > 10
    assert queue.get() == "c"
    assert queue.put("d", 10, timeout=0)
    assert queue.peak_bytes == 30


def _batches(count: int, taken: list[int]) -> Iterator[pa.RecordBatch]:
    for number in range(count):
        taken.append(number)
        yield pa.record_batch([pa.array([number] * 1024, pa.int64())], names=["n"])  # 8 KiB each


def test_the_reader_runs_further_ahead_until_the_batches_are_first_iterated() -> None:
    taken: list[int] = []
    stream = SnapshotStream(_batches(40, taken), max_bytes=2 * 8192, ahead_bytes=8 * 8192)
    try:
        time.sleep(0.2)
        # The first batch, handed over in the constructor, eight queued (the read-ahead), and one
        # the producer holds while it waits for room
        assert len(taken) == 10 and stream.queue.held_bytes == 8 * 8192
        batches = iter(stream)
        assert next(batches).column(0)[0].as_py() == 0
        for _ in range(6):
            next(batches)
        time.sleep(0.2)
        # Once iterated, the producer waits until the queue drains below the lower bound
        assert stream.queue.held_bytes == 2 * 8192 and len(taken) == 10
        assert sum(1 for _ in batches) == 40 - 7
    finally:
        stream.close()


def _gated_batches(
    count: int, pause: float, gate: threading.Event | None = None, fail: bool = False
) -> Iterator[pa.RecordBatch]:
    """``count`` batches, ``pause`` s apart; after the first, wait for ``gate`` when given."""
    for number, batch in enumerate(_batches(count, [])):
        time.sleep(pause)
        if number == 1 and gate is not None:
            gate.wait(timeout=10)
        yield batch
    if fail:
        raise RuntimeError("the server went away")


def test_the_stream_times_its_first_and_last_batch() -> None:
    gate = threading.Event()
    stream = SnapshotStream(_gated_batches(3, pause=0.1, gate=gate))
    timing = stream.timing
    try:
        assert timing.first_batch_at is not None and timing.first_batch_at - timing.started_at >= 0.1
        assert timing.last_batch_at is None  # the reader waits at the gate, still reading
        gate.set()
        assert sum(1 for _ in stream) == 3
        # Three pauses, one after the other, before the last batch
        assert timing.last_batch_at is not None and timing.last_batch_at - timing.started_at >= 0.3
    finally:
        stream.close()


def test_a_failed_read_has_no_last_batch() -> None:
    stream = SnapshotStream(_gated_batches(2, pause=0.0, fail=True))
    with pytest.raises(RuntimeError, match="went away"):
        list(stream)
    assert stream.timing.first_batch_at is not None and stream.timing.last_batch_at is None
