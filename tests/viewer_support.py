"""Shared pieces of the viewer tests: a window on a manual clock, and the fake models
(defined in ``tests/fakes.py``, imported here too because every viewer test takes them
with the window).

The fixtures (``index_clip``, ``other_clip``, ``settings``, ``make_viewer`` and the
autouse no-thread-left guard) live in ``tests/conftest.py``, so that session-scoped ones
are built once per run and the guard covers every test.
"""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from fakes import FakeFactory, FakeLocalizer, quadrant_map  # noqa: F401 - the viewer tests' fakes


class Viewer(SimpleNamespace):
    """A window on a manual clock: ``win``, ``c`` (controller), ``clock``, ``qtbot``.

    Waits are generous (the machine running the suite may be busy); they end as soon as
    the condition holds.
    """

    def frame_is(self, index: int) -> bool:
        return self.c.shown_index == index and self.c.image is not None

    def wait_frame(self, index: int, timeout: int = 15000) -> None:
        self.qtbot.waitUntil(lambda: self.frame_is(index), timeout=timeout)

    def maps_drawn(self, index: int) -> bool:
        """Frame ``index`` is not on screen, or every head on screen has drawn its map.

        The worker fills the cache on its own thread and tells the window by a queued signal:
        between the two, ``ready_at`` holds while the heads still say "computing…"."""
        if self.c.shown_index != index or self.win.presenter.live is not None:
            return True
        return all(dm is not None for label, dm in self.win.presenter.shown if label != "Frame")

    def wait_maps(self, index: int, timeout: int = 30000) -> None:
        self.qtbot.waitUntil(lambda: bool(self.c.maps.models) and self.c.maps.ready_at(index)
                             and self.maps_drawn(index), timeout=timeout)


def open_with(make_viewer, clip, **fakes):
    """A window whose fake models ``fakes`` (name -> FakeLocalizer) are loaded, on ``clip``."""
    v = make_viewer(FakeFactory(**fakes))
    for name in fakes:
        v.win.load_checkpoint(f"/models/{name}.pt")
    assert v.win.open_path(clip)
    return v


def set_display(v, **kw):
    """Change display options of ``v``'s window as the menus do (the fields ``kw``)."""
    v.win.set_options(replace(v.win.display.options, **kw))
