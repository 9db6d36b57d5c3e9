"""A queue between two pipeline stages bounded by the bytes it holds, not by its number of items.

Record batches vary in size (the reader's size hint is only a hint; a wide row can make one batch
many times larger), so a count bound does not bound memory. This one admits an item while the bytes
held stay within ``max_bytes``, and always admits one item into an empty queue, so an item larger
than the bound passes alone instead of blocking forever. It records the most it ever held, so what
each stage holds can be reported.
"""

from __future__ import annotations

import collections
import threading
from typing import Any


class ByteBoundedQueue:
    """FIFO queue of ``(item, size)``; ``put`` waits for room, ``get`` waits for an item.

    :param max_bytes: Bytes the queue may hold (one item alone may exceed it).
    """

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: collections.deque[tuple[Any, int]] = collections.deque()
        self._held = 0
        self.peak_bytes = 0
        self.peak_items = 0
        self._changed = threading.Condition()

    @property
    def held_bytes(self) -> int:
        return self._held

    def bound(self, max_bytes: int) -> None:
        """Change the bound; after a lowering, ``put`` waits until the queue has drained below it.

        The peaks start again from what the queue holds now, so they describe the new bound.
        """
        with self._changed:
            self.max_bytes = max_bytes
            self.peak_bytes = self._held
            self.peak_items = len(self._items)
            self._changed.notify_all()

    def put(self, item: Any, size: int, timeout: float | None = None, *, force: bool = False) -> bool:
        """Add ``item`` of ``size`` bytes once there is room; False if ``timeout`` passed first.

        ``force`` adds it at once, room or not (a failure that must reach the consumer).
        """
        with self._changed:
            if not force and not self._changed.wait_for(
                lambda: not self._items or self._held + size <= self.max_bytes, timeout
            ):
                return False
            self._items.append((item, size))
            self._held += size
            self.peak_bytes = max(self.peak_bytes, self._held)
            self.peak_items = max(self.peak_items, len(self._items))
            self._changed.notify_all()
            return True

    def put_unless_stopped(self, item: Any, size: int, stop: threading.Event, wait: float = 0.5) -> bool:
        """Add ``item`` once there is room, checking ``stop`` every ``wait`` seconds; False once set."""
        while not stop.is_set():
            if self.put(item, size, timeout=wait):
                return True
        return False

    def get(self, timeout: float | None = None) -> Any:
        """The oldest item; raises ``TimeoutError`` if none came within ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._items), timeout):
                raise TimeoutError("no item within the timeout")
            item, size = self._items.popleft()
            self._held -= size
            self._changed.notify_all()
            return item

    def clear(self) -> None:
        """Drop every queued item (wakes a producer waiting for room)."""
        with self._changed:
            self._items.clear()
            self._held = 0
            self._changed.notify_all()
