"""Waiting for another thread's work in a test: poll a condition until it holds or a
generous limit passes (the machine running the suite may be busy). No timing is asserted:
the limit only stops a test that would otherwise hang."""
from __future__ import annotations

import time


def wait_for(pred, timeout: float = 30.0, interval: float = 0.01) -> bool:
    """Poll ``pred()`` until it is true (True) or ``timeout`` seconds pass (its last value)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def live_threads() -> list[str]:
    """Names of the live loop's and live sources' threads still running (a stopped loop
    leaves none: the live tests end by checking this is empty)."""
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("avsol-live")]
