"""A live recording opened like any video shows the maps recorded with it, not recomputed.

``Live › Record`` writes ``REC.mp4`` and, per head, ``REC.NAME.maps.npz`` (SPEC 9 maps
files, :func:`model_core.inference.live_record.maps_path`). When a video is opened, or a
model is loaded, the maps of every loaded model found beside the video go into the map
cache under the video's frames (own audio), so the map worker finds them there and
computes nothing for those frames.

A maps file found there is checked against the video and the model before anything is
allocated (:class:`model_core.maps_file.MapsBounds`): more maps than the video has
frames, maps of another size than the model's, or maps naming another video are refused
with one message, and nothing of that file is drawn.
"""
from __future__ import annotations

import numpy as np

from model_core.errors import InputError
from model_core.inference.live_record import maps_path
from model_core.inference.map_cache import MapEntry, MapKey
from model_core.models.protocol import map_hw


def fill_recorded_maps(c) -> int:
    """Put the recorded maps beside ``c.session``'s video into ``c.maps.cache``; how many."""
    from model_core.maps_file import MapsBounds, load_maps

    s = c.session
    if s is None:
        return 0
    n = 0
    for m in c.maps.models:
        p = maps_path(s.path, m.name)
        if not p.is_file():
            continue
        tl = s.timeline
        bounds = MapsBounds(max_maps=tl.frame_count, map_shape=map_hw(m.map_size),  # int or (h, w)
                            video=s.path.name, duration=tl.duration)
        try:
            mf = load_maps(p, bounds)
        except InputError as exc:
            c.message.emit(str(exc))
            continue
        p_avc = mf.extra.get("p_avc")
        for r in range(len(mf)):
            t = float(mf.times[r])
            i = s.timeline.index_at(t)
            entry = MapEntry(np.asarray(mf.maps[r], np.float32),
                             float(p_avc[r]) if p_avc is not None else float(mf.maps[r].max()),
                             np.zeros(len(m.classes), np.float32), t, t, False)
            c.maps.cache.put(MapKey(s.key, m.key, "own", i), entry)
            n += 1
    if n:
        c.message.emit(f"{s.name}: {n} recorded maps loaded (not recomputed)")
    return n


def install(c) -> None:
    c.maps.video_hooks.append(lambda _key: fill_recorded_maps(c))
    c.maps.models_changed.connect(lambda _m: fill_recorded_maps(c))
