"""One presenter draws a file's maps and live maps: the same heads panel, titles, look-up
table and options; live mode only hands it its latest result (``Presenter.show_live``)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from viewer_support import FakeFactory, FakeLocalizer  # noqa: E402


def _live_state(image, entries, index=7, shown=1, problems=None):
    """What live mode hands the presenter: its latest result, its problems, maps shown so far."""
    last = None if image is None else SimpleNamespace(frame=SimpleNamespace(image=image, index=index),
                                                      entries=entries)
    return SimpleNamespace(last=last, problems=problems or {}, shown=shown, camera_label=lambda: "camera 0")


def test_file_and_live_maps_are_drawn_by_the_same_presenter(make_viewer, tmp_path, index_clip):
    from avsol_viewer.live.live_mode import LiveMode
    from avsol_viewer.maps.head_style import head_title_html

    assert not hasattr(LiveMode, "draw")          # live mode has no drawing of its own
    v = make_viewer(FakeFactory(avc=FakeLocalizer("avc", head="avc", quadrant="tl")))
    v.win.load_checkpoint(tmp_path / "avc.pt")
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 1, timeout=15000)
    assert v.win.open_path(index_clip)
    v.wait_maps(0)
    p, heads = v.win.presenter, v.win.heads
    m = v.c.maps.models[0]
    entry, _ = v.c.maps.entry(m.key, 0)
    file_titles = [view.title.text for view in heads.views]
    file_map = heads.views[1].overlay.isVisible()
    assert file_titles[1].startswith(head_title_html(m.name, m.head)) and file_map

    # live: a picture of another size, the same entry (its map), drawn by the same presenter
    picture = np.full((60, 80, 3), 90, np.uint8)
    p.show_live(_live_state(picture, {m.key: entry}))
    live_titles = [view.title.text for view in heads.views]
    assert len(heads.views) == 2 and "Live" in live_titles[0] and "camera 0 · frame 7" in live_titles[0]
    assert live_titles[1].startswith(head_title_html(m.name, m.head))   # the same title and colour
    assert heads.views[1].overlay.isVisible() and heads._image.shape == picture.shape
    assert p.shown == [] and not p.welcome.isVisible()

    # a head whose live map has not come yet says so; a missing camera is one line
    p.show_live(_live_state(picture, {}))
    assert "starting…" in heads.views[1].title.text and not heads.views[1].overlay.isVisible()
    p.show_live(_live_state(None, {}, problems={"camera": "no camera 3"}))
    assert len(heads.views) == 1 and "Live — no camera 3" in heads.views[0].title.text

    # back to the file: its frame and titles, as they were
    p.show_live(None)
    assert p.live is None
    assert [view.title.text for view in heads.views] == file_titles
    assert heads._image.shape[:2] == (96, 128)
