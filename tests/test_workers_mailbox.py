"""The viewer's one latest-request-wins mailbox (``MailboxThread``): a busy worker skips
the requests that were replaced while it worked, and stopping ends its loop."""
from __future__ import annotations

import threading

from avsol_viewer.workers import MailboxThread
from waiting import wait_for


class Recorder(MailboxThread[int]):
    """Records each request it takes; the first one waits for ``gate`` (a busy worker)."""

    def __init__(self):
        super().__init__("test-mailbox")
        self.taken: list[int] = []
        self.busy = threading.Event()
        self.gate = threading.Event()
        self.saw_superseded: bool | None = None

    def run(self) -> None:
        while (item := self.take()) is not None:
            self.taken.append(item)
            if len(self.taken) == 1:
                self.busy.set()
                assert self.gate.wait(10)
                self.saw_superseded = self.superseded()


def test_without_a_thread_the_newest_request_replaces_the_pending_one():
    box = Recorder()
    assert not box.superseded()
    box.post(1)
    box.post(2)
    assert box.superseded()
    assert box.take() == 2
    assert not box.superseded()
    box.request_stop()
    box.post(3)
    assert box.take() is None  # stopping wins over a pending request
    assert box.superseded()


def test_a_busy_worker_takes_only_the_last_request_posted_meanwhile():
    box = Recorder()
    box.start()
    try:
        box.post(1)
        assert box.busy.wait(10)
        for i in range(2, 6):
            box.post(i)
        box.gate.set()
        assert wait_for(lambda: box.taken[-1:] == [5])
    finally:
        assert box.stop_and_wait(10000)
    assert box.taken == [1, 5]
    assert box.saw_superseded is True


class GatedTrack:
    """A track whose first columns request waits for ``gate`` (a slow first tile)."""

    path = "gated.wav"

    def __init__(self):
        self.asked: list[tuple[int, int]] = []
        self.busy = threading.Event()
        self.gate = threading.Event()

    def columns(self, j0, j1):
        import numpy as np

        self.asked.append((j0, j1))
        if len(self.asked) == 1:
            self.busy.set()
            assert self.gate.wait(10)
        return np.zeros((64, j1 - j0), np.float32)


def test_the_spectrogram_columns_worker_computes_only_the_latest_span(qtbot):
    from avsol_viewer.playback.audio_loader import ColumnsWorker

    track = GatedTrack()
    worker = ColumnsWorker(track)
    got: list[tuple[int, int, tuple]] = []
    worker.ready.connect(lambda j0, j1, cols: got.append((j0, j1, cols.shape)))
    worker.start()
    try:
        worker.request(0, 10)
        assert track.busy.wait(10)
        worker.request(10, 20)
        worker.request(20, 35)   # replaces (10, 20), never computed
        track.gate.set()
        qtbot.waitUntil(lambda: len(got) == 2, timeout=10000)
    finally:
        assert worker.stop_and_wait(10000)
    assert track.asked == [(0, 10), (20, 35)]
    assert got == [(0, 10, (64, 10)), (20, 35, (64, 15))]
