"""The one list of media file extensions, for every reader, importer, check and file dialog.

The output checks, the importers, live mode and the viewer's open dialogs read it, so they
agree on what is a video (separate lists drift: one takes ``.m4v`` for a video, another
not). A leaf outside the layers, with no imports: inside
``model_core.media`` it would sit in a layer that ``model`` may not reach, and ``model``
reaches it through ``input_protection``. Lower case, with the dot; the order is the order
importers try when they look for a clip by its stem (``.mp4`` first).
"""
from __future__ import annotations

#: Containers of a video (possibly with its sound).
VIDEO = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".flv", ".ts", ".3gp")
#: Sound-only files.
AUDIO = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus")
#: Still pictures (Flickr-SoundNet's frames, screenshots).
IMAGE = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")
#: Every media file: what the output checks never overwrite with another kind.
MEDIA = VIDEO + AUDIO + IMAGE


def dialog_filter(label: str, suffixes: tuple[str, ...]) -> str:
    """A Qt file-dialog filter for ``suffixes``, then all files:
    ``dialog_filter("Videos", VIDEO)`` -> ``"Videos (*.mp4 *.mkv ...);;All files (*)"``."""
    return f"{label} ({' '.join('*' + s for s in suffixes)});;All files (*)"
