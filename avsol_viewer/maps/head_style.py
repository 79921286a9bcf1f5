"""One colour and one title per head, everywhere: viewer titles, live titles, the success
curves of an evaluation and the training curves.

The one definition: the viewer's titles (file and live maps alike, drawn by the one
presenter), the success curves, the training curves and the export read their colours and
titles here (features reach it through the window context's ``styles``). A head's colour is
a function of its kind (avc, cls, dnm) and of its checkpoint's name only, never of the
order in which a panel happened to meet it, so the same checkpoint has the same colour in
every view:

- a checkpoint named after its kind (the bundled ``dnm.pt``) gets the kind's colour;
- another checkpoint of that kind (``dnm_seed1.pt``) gets one of the kind's shades, picked
  by a checksum of its name (stable across runs and panels);
- a name whose kind is unknown (a report's head named ``model_a``) gets a colour of a
  separate palette, by the same checksum.

No Qt here: colours are ``#rrggbb`` strings that pyqtgraph pens and HTML both take.
"""
from __future__ import annotations

import re
import zlib
from functools import lru_cache
from html import escape
from pathlib import Path

#: The kinds' own colours, chosen to read on the dark canvas and on pyqtgraph's dark plots.
KIND_COLOURS = {"avc": "#f4a261", "cls": "#8ecae6", "dnm": "#b5e48c"}
#: Further checkpoints of a kind: shades of the kind's hue (the base colour first).
KIND_SHADES = {
    "avc": ("#f4a261", "#e76f51", "#ffb703", "#fb8500"),
    "cls": ("#8ecae6", "#219ebc", "#a2d2ff", "#4895ef"),
    "dnm": ("#b5e48c", "#52b788", "#d9ed92", "#76c893"),
}
#: Heads whose kind is unknown (none of avc / cls / dnm in the name).
OTHER_COLOURS = ("#cdb4db", "#f28482", "#e9c46a", "#ffffff", "#bde0fe", "#ffc8dd")
#: The note shown wherever a bundled head is named: its maps are no verdict on real footage.
BUNDLED_NOTE = ("trained on the project's synthetic shapes (resources/models/README.md), not on real "
                "footage: on real videos their maps say little")

_KIND = re.compile(r"^(avc|cls|dnm)(?![a-z])")


def kind_of(name: str, head: str | None = None) -> str | None:
    """The head's kind: ``head`` when given, else guessed from a name that starts with it
    (``dnm``, ``dnm_seed1``, ``DNM-best``); None when neither says."""
    if head:
        return head.lower()
    m = _KIND.match(str(name).lower())
    return m.group(1) if m else None


def _pick(options: tuple[str, ...], name: str) -> str:
    return options[zlib.crc32(str(name).lower().encode("utf-8")) % len(options)]


def head_colour(name: str, head: str | None = None) -> str:
    """The ``#rrggbb`` colour of the checkpoint ``name`` of kind ``head`` (see module docstring)."""
    kind = kind_of(name, head)
    if kind in KIND_COLOURS:
        if str(name).lower() == kind:
            return KIND_COLOURS[kind]
        return _pick(KIND_SHADES[kind][1:], name)
    return _pick(OTHER_COLOURS, name)


def kind_text(kind: str, head: str | None = None) -> str:
    """How a kind is written in titles: ours in capitals (``DNM``), a published family as
    its authors spell it (``SSL-align``, ``RCGrad``: the model's ``head``)."""
    return kind.upper() if kind in KIND_COLOURS or not head else str(head)


def head_label(name: str, head: str | None = None, sep: str = " · ") -> str:
    """The plain-text title: ``DNM · dnm_seed1`` (kind, then checkpoint), ``EZ-VSL ·
    ezvsl_vggss`` (a published family), ``model_a`` when the kind is unknown; ``sep`` " - "
    where only ASCII can be drawn (OpenCV's text)."""
    kind = kind_of(name, head)
    return f"{kind_text(kind, head)}{sep}{name}" if kind else str(name)


def head_title_html(name: str, head: str | None = None) -> str:
    """:func:`head_label` as the viewer's titles draw it: the kind bold in the head's colour,
    the checkpoint's name in grey."""
    kind = kind_of(name, head)
    colour = head_colour(name, head)
    if not kind:
        return f"<b style='color:{colour}'>{escape(str(name))}</b>"
    return (f"<b style='color:{colour}'>{escape(kind_text(kind, head))}</b>"
            f"&nbsp;<span style='color:#ccc'>· {escape(str(name))}</span>")


@lru_cache(maxsize=64)
def is_bundled(path: str | None) -> bool:
    """Whether ``path`` is one of the heads shipped in ``resources/models`` (trained on the
    synthetic set: see :data:`BUNDLED_NOTE`). Memoised: titles ask on every frame."""
    if not path:
        return False
    from avsol_viewer.constants import resources_dir

    try:
        return Path(path).resolve().parent == (resources_dir() / "models").resolve()
    except OSError:
        return False
