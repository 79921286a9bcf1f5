"""Opening files in the viewer: drag and drop, replacing a file, bad files, settings."""
from __future__ import annotations

import json

import warnings

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from media_helpers import read_frame_index
from viewer_support import FakeFactory, FakeLocalizer


def _drop(win, path):
    """A drag entering the window, then the drop, as Qt delivers a real one."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with warnings.catch_warnings():  # the QPoint constructor is the only one PySide offers
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(200, 200), *args)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted(), "the window must accept a drag carrying a file"
    ev = QDropEvent(QPointF(200, 200), *args)
    QApplication.sendEvent(win, ev)
    return ev.isAccepted()  # mime dies with this frame: read the event now


def test_drop_opens_video(make_viewer, index_clip):
    v = make_viewer()
    assert _drop(v.win, index_clip)
    assert v.c.session is not None and v.c.session.path == index_clip
    v.wait_frame(0)
    assert read_frame_index(v.c.image) == 0
    assert "index.mp4" in v.win.windowTitle()
    assert v.win.transport.slider.maximum() == 49


def test_second_file_replaces_first_cleanly(make_viewer, index_clip, other_clip):
    fake = FakeLocalizer("dnm")
    v = make_viewer(FakeFactory(dnm=fake))
    v.win.load_checkpoint("/models/dnm.pt")
    assert v.win.open_path(index_clip)
    v.wait_maps(0)
    first_frames, first_key = v.c.frames, v.c.session.key
    assert v.win.open_path(other_clip)
    assert not first_frames.isRunning(), "the first file's decoder thread must stop"
    assert v.c.frames.isRunning() and v.c.session.path == other_clip
    assert v.c.player.timeline.frame_count == 30
    v.wait_maps(0)
    # caches are kept per file: going back finds the first file's maps at once
    assert v.win.open_path(index_clip)
    assert v.c.session.key == first_key and v.c.maps.ready_at(0)
    v.wait_frame(0)


def test_bad_file_keeps_previous_state(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    assert v.win.open_path(index_clip)
    v.c.player.seek_index(7)
    v.wait_frame(7)
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    assert not v.win.open_path(bad)
    title, text = v.errors[-1]
    assert "notes.mp4" in title and "notes.mp4" in text
    assert v.c.session.path == index_clip and v.c.frames.isRunning()
    assert v.c.player.index == 7 and read_frame_index(v.c.image) == 7
    assert not v.win.open_path(tmp_path / "missing.mkv")
    assert "missing.mkv" in v.errors[-1][1]
    assert v.c.session.path == index_clip


def test_recent_files_and_display_settings_persist(make_viewer, index_clip, other_clip, settings):
    v = make_viewer()
    v.win.open_path(index_clip)
    v.win.open_path(other_clip)
    v.win._opacity(+0.1)
    v.win.close()
    recent = settings.recent_files()
    assert recent[:2] == [str(other_clip.resolve()), str(index_clip.resolve())]
    assert abs(settings.value("display/opacity") - 0.7) < 1e-9
    assert settings.geometry() is not None
    assert settings.last_folder() == str(other_clip.parent.resolve())


def test_annotations_found_beside_the_video(make_viewer, index_clip, tmp_path):
    video = tmp_path / "videos" / "clip.mp4"
    video.parent.mkdir()
    video.write_bytes(index_clip.read_bytes())
    doc = {"format": "avsol-e", "version": 1, "classes": ["tone"], "videos": [{
        "video": "clip.mp4", "category": "tone", "segments": [
            {"start": 0.0, "end": 1.0, "frame_time": 0.5, "event": True,
             "sounding": [{"box": [0.0, 0.0, 0.5, 0.5], "label": "source"}],
             "silent": [{"box": [0.5, 0.5, 1.0, 1.0], "label": "quiet"}]},
            {"start": 1.0, "end": 2.0, "frame_time": 1.5, "event": False}]}]}
    (tmp_path / "avsol-e.json").write_text(json.dumps(doc))  # in the parent folder
    v = make_viewer()
    assert v.win.open_path(video)
    ann = v.c.session.annotations
    assert ann is not None and ann.kind == "avsol-e" and len(ann.segments) == 2
    view = v.win.heads.views[0]
    assert len(view._boxes) == 4  # two rectangles and their labels
    v.c.player.seek(1.2)  # background segment: no sounding box, no silent box
    v.qtbot.waitUntil(lambda: len(view._boxes) == 0, timeout=15000)
    assert "Segment 1" in v.win.segment.heading.text()


def test_ave_annotations_loaded_from_menu(make_viewer, index_clip, tmp_path):
    ave = tmp_path / "Annotations.txt"
    ave.write_text(f"Category&VideoID&Quality&StartTime&EndTime\ntone&{index_clip.stem}&good&1&2\n")
    v = make_viewer()
    v.win.open_path(index_clip)
    assert v.win.load_annotations(ave)
    segs = v.c.session.annotations.segments
    assert [s.event for s in segs] == [False, True]
    wrong = tmp_path / "other" / "Annotations.txt"
    wrong.parent.mkdir()
    wrong.write_text("tone&someone_else&good&1&2\n")
    assert not v.win.load_annotations(wrong)
    assert "index.mp4" in v.errors[-1][1]
    assert v.c.session.annotations.segments == segs


def test_video_without_sound(make_viewer, tmp_path):
    from media_helpers import make_clip

    clip = make_clip(tmp_path / "mute.mp4", n_frames=20, fps=10.0, size=(64, 48), with_audio=False)
    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm")))
    v.win.load_checkpoint("/models/dnm.pt")
    assert v.win.open_path(clip)
    v.qtbot.waitUntil(lambda: v.c.track is not None, timeout=20000)
    assert not v.c.track.has_audio and v.c.track.n_columns == 201
    assert "no sound track" in v.win.spectrogram.note.toPlainText()
    v.wait_maps(0)
    assert v.c.maps.entry(v.c.maps.models[0].key, 0)[0].silent_audio
    v.qtbot.waitUntil(lambda: "on silence" in v.win.heads.views[-1].title.text, timeout=15000)


def test_screenshot_to_file_and_clipboard(make_viewer, index_clip, tmp_path):
    from PySide6.QtGui import QGuiApplication, QImage

    v = make_viewer()
    v.win.open_path(index_clip)
    out = tmp_path / "shot.png"
    assert v.win.save_screenshot(out)
    img = QImage(str(out))
    assert (img.width(), img.height()) == (v.win.width(), v.win.height())
    v.win.copy_screenshot()
    assert not QGuiApplication.clipboard().image().isNull()
    (tmp_path / "a-file").write_text("x")
    assert not v.win.save_screenshot(tmp_path / "a-file" / "shot.png")  # a folder that can't exist
    assert "a-file" in v.errors[-1][1]
