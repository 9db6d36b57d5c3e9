"""The queue between reading and encoding holds at most its bytes, and lets one large item pass."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_provider_materialize.export.client.byte_queue import ByteBoundedQueue


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
