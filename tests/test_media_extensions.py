"""One media-extension list (model_core.media_extensions) for the importers, the output
checks, live mode and the viewer's dialogs (issue 28 item 5: seven copies, all different)."""
from __future__ import annotations

from pathlib import Path

from model_core import media_extensions as ext


def test_every_user_reads_the_one_list():
    from model_core.formats import _common
    from model_core.inference import live_sources
    from model_core.input_protection import MEDIA_SUFFIXES

    assert _common.VIDEO_EXTENSIONS is ext.VIDEO and _common.IMAGE_EXTENSIONS is ext.IMAGE
    assert MEDIA_SUFFIXES is ext.MEDIA
    assert set(live_sources.MEDIA_SUFFIXES) == set(ext.AUDIO) | set(ext.VIDEO)
    # the lists are lower case, dotted, without repeats, and the kinds do not overlap
    assert len(set(ext.MEDIA)) == len(ext.MEDIA) == len(ext.VIDEO) + len(ext.AUDIO) + len(ext.IMAGE)
    assert all(s.startswith(".") and s == s.lower() for s in ext.MEDIA)
    assert ext.VIDEO[0] == ".mp4"   # what an importer tries first


def test_an_m4v_clip_is_a_video_to_the_importers_too(tmp_path: Path):
    from model_core.formats._common import VIDEO_EXTENSIONS, find_media

    (tmp_path / "clip.m4v").write_bytes(b"")
    assert find_media(tmp_path, "clip", VIDEO_EXTENSIONS) == "clip.m4v"
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert find_media(tmp_path, "clip", VIDEO_EXTENSIONS) == "clip.mp4"   # .mp4 first


def test_dialog_filter_by_hand():
    assert ext.dialog_filter("Sound", (".wav", ".mp3")) == "Sound (*.wav *.mp3);;All files (*)"
    assert ext.dialog_filter("Videos", ext.VIDEO).startswith("Videos (*.mp4 *.mkv ")
