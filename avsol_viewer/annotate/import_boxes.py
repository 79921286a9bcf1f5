"""Annotate › Import VGG-SS / Flickr boxes…: start a set from a public benchmark's
annotations and continue it in annotate mode.

The conversion is ``avsol import``'s (``model_core.formats.import_vggss`` /
``import_flickr``, the videos folder being the open video's, so the items are named as
the files found there); the result is an unsaved set in annotate mode, written on the
first save (or autosave) to the chosen AVSOL-E file, like any set. As ``avsol import``, it
never replaces an existing annotation file: open that one with Annotate › Start instead.
Flickr's votes become annotators ``annotator 1``, ``annotator 2``, ... (agreement needs
them told apart); your boxes carry your name beside them.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from model_core.errors import InputError

SOURCES = {"vggss": "VGG-SS (vggss.json)", "flickr": "Flickr-SoundNet (folder of .xml)"}
DEFAULT_NAME = "avsol-e.imported.json"


def import_set(mode, source: str, src: str | Path, out: str | Path | None = None,
               annotator: str | None = None) -> bool:
    """Import ``src`` (``source``: ``vggss`` or ``flickr``) into a new set ``out`` (default
    :data:`DEFAULT_NAME` beside the open video) and annotate it: the open video if it is in
    the set, else the first imported video found in its folder. False, with one
    message naming the file and the problem, when anything is wrong (nothing is written)."""
    from model_core.annotate.autosave import autosave_path, find_recovery
    from model_core.annotate.document import from_import
    from model_core.formats import import_flickr, import_vggss

    ctx = mode.ctx
    s = mode.c.session
    if s is None:
        ctx.error("Import", "Open a video of the folder to annotate first (File › Open video…)")
        return False
    if source not in SOURCES:
        ctx.error("Import", f"unknown source {source!r}: expected vggss or flickr")
        return False
    folder = s.path.parent
    out = Path(out) if out else folder / DEFAULT_NAME
    if out.exists():
        ctx.error("Cannot import", f"{out}: exists; an import never replaces an annotation set "
                                       f"(choose another name, or open it with Annotate › Start)")
        return False
    if find_recovery(out) is not None:   # a set imported there before and never saved: not lost silently
        ctx.error("Cannot import", f"{out}: unsaved annotations of it are waiting ({autosave_path(out).name}); "
                                   f"open it with Annotate › Start to recover them, or choose another name")
        return False
    importer = import_vggss if source == "vggss" else import_flickr
    try:
        obj, report = importer(src, videos_dir=folder)
    except InputError as exc:
        ctx.error("Cannot import", " ".join(str(exc).split()))
        return False
    mode.stop()                         # a set being annotated is autosaved and let go first
    doc = from_import(obj)
    doc.path = out
    doc.revision += 1                   # unsaved: the autosave and Save write it
    if doc.video(s.path.name) is None:  # continue the imported videos, not the open one
        first = next((folder / v.video for v in doc.videos if (folder / v.video).is_file()), None)
        if first is not None and not ctx.open_path(str(first)):
            return False
    if not mode.start(out, annotator, document=doc):
        return False
    ctx.status(f"imported {Path(src).name}: {report.summary()}", 10000)
    return True


def ask_import(mode) -> None:
    """Ask the source kind, the file or folder, and the set to write; then :func:`import_set`."""
    ctx = mode.ctx
    if mode.c.session is None:
        ctx.error("Import", "Open a video of the folder to annotate first (File › Open video…)")
        return
    folder = str(mode.c.session.path.parent)
    labels = list(SOURCES.values())
    label, ok = QInputDialog.getItem(ctx.widget, "Import boxes", "Annotations of:", labels, 0, False)
    if not ok:
        return
    source = list(SOURCES)[labels.index(label)]
    if source == "vggss":
        src, _ = QFileDialog.getOpenFileName(ctx.widget, "VGG-SS annotations", folder, "JSON (*.json)")
    else:
        src = QFileDialog.getExistingDirectory(ctx.widget, "Flickr-SoundNet annotations (folder of .xml)", folder)
    if not src:
        return
    out, _ = QFileDialog.getSaveFileName(ctx.widget, "New AVSOL-E set", str(Path(folder) / DEFAULT_NAME),
                                         "AVSOL-E (*.json)")
    if out:
        import_set(mode, source, src, out)
