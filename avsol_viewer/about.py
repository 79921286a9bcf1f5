"""The About box's text: version, what the maps are, that the bundled heads were trained on
synthetic shapes, and where the documentation is.

Kept out of the window so a test can read it without a dialog. The version is the
package's one (``model_core.__version__``, the one ``avsol --version`` and the reports'
meta print); the documentation link is the installed ``docs/viewer.md`` (the failure
labels, the keys, the scales), else the README, as a ``file:`` link that opens offline.
"""
from __future__ import annotations

from html import escape
from pathlib import Path


def version() -> str:
    from model_core import __version__

    return __version__


def docs_path() -> Path | None:
    """The viewer's guide next to the code or the bundle (None when neither ships it)."""
    from avsol_viewer.constants import REPO, resources_dir

    for p in (REPO / "docs" / "viewer.md", resources_dir().parent / "docs" / "viewer.md", REPO / "README.md"):
        if p.is_file():
            return p.resolve()
    return None


def about_html() -> str:
    from avsol_viewer.maps.head_style import BUNDLED_NOTE

    docs = docs_path()
    link = (f"<a href='{escape(docs.as_uri())}'>{escape(docs.name)}</a> ({escape(str(docs.parent))})"
            if docs else "docs/viewer.md in the source distribution")
    return (f"<h3>AVSOL Studio {escape(version())}</h3>"
            "<p>Audio-visual sounding object localization: a viewer, evaluation and training of "
            "the AVC, CLS and DNM heads.</p>"
            "<p>A map is sigmoid(Z) of each loaded checkpoint, drawn by default on its absolute "
            "scale (0..1); the colour bar in the Display panel and the value under the cursor "
            "in the status bar say what a colour means.</p>"
            f"<p><b>Bundled heads</b> (resources/models): {escape(BUNDLED_NOTE)}.</p>"
            f"<p>Documentation: {link}. Keys: Help › Keyboard shortcuts (F1).</p>")
