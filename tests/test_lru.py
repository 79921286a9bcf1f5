"""The one LRU helper (``model_core.lru``): count and byte budgets, recency, eviction hook."""
from __future__ import annotations

import pytest

from model_core.lru import LRU


def test_count_budget_drops_least_recently_used():
    c = LRU(max_items=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1          # a is now the most recent
    c.put("c", 3)                   # b goes
    assert list(c) == ["a", "c"] and "b" not in c and c.get("b") is None
    assert c.peek("a") == 1 and list(c) == ["a", "c"]  # peek keeps the order


def test_byte_budget_and_eviction_hook():
    gone = []
    c = LRU(max_bytes=10, sizeof=len, on_evict=lambda k, v: gone.append(k))
    c.put(1, "xxxx")
    c.put(2, "yyyy")
    assert c.nbytes == 8
    c.put(3, "zzzz")                # 12 > 10: 1 goes
    assert gone == [1] and c.nbytes == 8 and list(c) == [2, 3]
    c.put(2, "y")                   # replacing counts the new size only
    assert c.nbytes == 5 and list(c) == [3, 2]
    c.put(4, "w" * 50)              # alone over budget: kept, everything older goes
    assert list(c) == [4] and gone == [1, 3, 2]
    assert c.pop(4) == "w" * 50 and c.nbytes == 0 and gone == [1, 3, 2]  # pop is no eviction


def test_bad_budgets_refused():
    with pytest.raises(ValueError):
        LRU(max_items=0)
    with pytest.raises(ValueError):
        LRU(max_bytes=10)
