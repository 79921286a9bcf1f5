"""One least-recently-used cache for the project (audio blocks, map entries, embeddings,
decoded frames, display memos), bounded by an item count and/or a byte budget.

Not locked: an owner shared between threads (the map cache) wraps it in its own lock.
``functools.lru_cache`` fits pure functions only; these caches are filled from outside
(a decoder, a worker) and must report evictions, hence a small class.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, Iterator, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A mapping that forgets its least recently used entries past a budget.

    Parameters
    ----------
    max_items : most entries kept (None: no count limit).
    max_bytes : most bytes kept, as measured by ``sizeof(value)`` (None: no byte limit).
    sizeof : bytes of one value (required with ``max_bytes``).
    on_evict : called as ``on_evict(key, value)`` for every entry dropped for room (not for
        :meth:`pop` or :meth:`clear`).

    The newest entry is always kept, even when it alone exceeds the budget.
    """

    def __init__(self, max_items: int | None = None, max_bytes: int | None = None,
                 sizeof: Callable[[V], int] | None = None,
                 on_evict: Callable[[K, V], None] | None = None):
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        if max_bytes is not None and sizeof is None:
            raise ValueError("max_bytes needs sizeof")
        self.max_items, self.max_bytes = max_items, max_bytes
        self._sizeof, self._on_evict = sizeof, on_evict
        self._data: OrderedDict[K, V] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def get(self, key: K, default=None):
        """The value (now the most recently used), or ``default``."""
        try:
            self._data.move_to_end(key)
        except KeyError:
            return default
        return self._data[key]

    def peek(self, key: K, default=None):
        """The value without touching its recency."""
        return self._data.get(key, default)

    def __getitem__(self, key: K) -> V:
        self._data.move_to_end(key)
        return self._data[key]

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def put(self, key: K, value: V) -> None:
        """Store ``value`` as the most recently used, then drop the oldest past the budget."""
        if key in self._data:
            old = self._data.pop(key)
            if self._sizeof is not None:
                self.nbytes -= self._sizeof(old)
        self._data[key] = value
        if self._sizeof is not None:
            self.nbytes += self._sizeof(value)
        while len(self._data) > 1 and self._over():
            k, v = self._data.popitem(last=False)
            if self._sizeof is not None:
                self.nbytes -= self._sizeof(v)
            if self._on_evict is not None:
                self._on_evict(k, v)

    def _over(self) -> bool:
        return ((self.max_items is not None and len(self._data) > self.max_items)
                or (self.max_bytes is not None and self.nbytes > self.max_bytes))

    def pop(self, key: K, default=None):
        if key not in self._data:
            return default
        value = self._data.pop(key)
        if self._sizeof is not None:
            self.nbytes -= self._sizeof(value)
        return value

    def clear(self) -> None:
        self._data.clear()
        self.nbytes = 0
