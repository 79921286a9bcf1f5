"""Display options: layout, head, colormap, opacity, contour, peak, boxes, scaling, and the
audio the maps hear. Emits :class:`DisplayOptions` when anything changes; the values
persist in the settings.

The default scale is ABSOLUTE (the map's own sigmoid values): per-frame min-max stretches
a map of silence into a bright blob, so it is an option the user picks, never what a first
look shows. The colour bar under the colormap says what colour means what value on the
scale in use.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QSlider, QToolButton, QVBoxLayout, QWidget)

from avsol_viewer.core.map_display import DEFAULT_SCALE, SCALE_NOTES
from avsol_viewer.maps.colormaps import OVERLAY_MAPS
from avsol_viewer.maps.colour_bar import ColourBar
from avsol_viewer.maps.head_style import head_colour, head_label
from model_core.inference.audio_sources import LABELS


@dataclass(frozen=True)
class DisplayOptions:
    layout: str = "side_by_side"     # or "single"
    head: str | None = None          # model key shown in "single"
    colormap: str = "inferno"
    opacity: float = 0.6
    threshold: float = 0.5           # contour level of the displayed (normalised) map
    contour: bool = True
    peak: bool = True
    boxes: bool = True
    scale: str = DEFAULT_SCALE       # "absolute" or "per_frame"
    #: the user picked ``scale`` in the panel: older versions stored "per_frame"
    #: as the default without being asked, and such a stored value is not a choice
    scale_chosen: bool = False
    #: model keys not drawn side by side (the Heads list's unticked boxes); not persisted:
    #: a key names one file at one modification time
    hidden: tuple[str, ...] = ()


def first_look(o: DisplayOptions) -> DisplayOptions:
    """The stored options as a launch shows them: a per-frame scale the user never picked
    (stored by an older version as its default) becomes the absolute scale."""
    if o.scale == "per_frame" and not o.scale_chosen:
        return replace(o, scale=DEFAULT_SCALE)
    return o


def _swatch(colour: str):
    """A small square of ``colour`` (the head's colour beside its name)."""
    from PySide6.QtGui import QColor, QIcon, QPixmap

    pix = QPixmap(12, 12)
    pix.fill(QColor(colour))
    return QIcon(pix)


def _nofocus(w):
    w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return w


class DisplayPanel(QWidget):
    """Controls for :class:`DisplayOptions` and the maps' audio (see module docstring)."""

    changed = Signal(object)          # DisplayOptions
    audio_kind_chosen = Signal(str)   # own / silence / noise / file
    unload_requested = Signal(str)    # model key: the user unloads that head

    def __init__(self, options: DisplayOptions, parent=None):
        super().__init__(parent)
        options = first_look(options)
        self.options = options
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_box = _nofocus(QComboBox())
        self.layout_box.addItem("All heads side by side", "side_by_side")
        self.layout_box.addItem("One head", "single")
        form.addRow("Layout", self.layout_box)
        self.head_box = _nofocus(QComboBox())
        form.addRow("Head", self.head_box)
        #: one box per loaded head: unticked heads are not drawn side by side; × unloads
        self.heads_box = QVBoxLayout()
        self.heads_box.setSpacing(0)
        self.head_checks: dict[str, QCheckBox] = {}
        self.unload_buttons: dict[str, QToolButton] = {}
        self._head_rows: list[QWidget] = []
        form.addRow("Show heads", self.heads_box)
        self.cmap_box = _nofocus(QComboBox())
        self.cmap_box.addItems(list(OVERLAY_MAPS))
        form.addRow("Colormap", self.cmap_box)
        self.opacity = _nofocus(QSlider(Qt.Orientation.Horizontal))
        self.opacity.setRange(0, 100)
        self.opacity_value = QLabel("")
        self.opacity_value.setMinimumWidth(self.opacity_value.fontMetrics().horizontalAdvance("100 %") + 4)
        self.opacity_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_value)
        form.addRow("Opacity", row)
        self.scale_box = _nofocus(QComboBox())
        self.scale_box.addItem("Absolute (map value 0..1)", "absolute")
        self.scale_box.addItem("Min-max per frame", "per_frame")
        self.scale_box.setToolTip("Absolute: the colour is the map's own value, so a head that hears "
                                  "nothing shows an empty frame.\nMin-max per frame: each frame's map is "
                                  "stretched to the full colour range; it shows the shape of a weak map "
                                  "but makes even a map of silence look confident.")
        form.addRow("Scale", self.scale_box)
        self.colour_bar = ColourBar()
        form.addRow("Colours", self.colour_bar)
        self.scale_note = QLabel("")
        self.scale_note.setWordWrap(True)
        self.scale_note.setStyleSheet("color: gray;")
        form.addRow("", self.scale_note)
        self.threshold = _nofocus(QDoubleSpinBox())
        self.threshold.setRange(0.05, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        form.addRow("Contour at", self.threshold)
        self.contour = _nofocus(QCheckBox("Threshold contour"))
        self.peak = _nofocus(QCheckBox("Peak marker"))
        self.boxes = _nofocus(QCheckBox("Annotation boxes"))
        for cb in (self.contour, self.peak, self.boxes):
            form.addRow("", cb)
        self.audio_box = _nofocus(QComboBox())
        for kind in ("own", "silence", "noise", "file"):
            self.audio_box.addItem(LABELS[kind] + ("…" if kind == "file" else ""), kind)
        self.audio_box.setToolTip("What the models hear. A head that localizes the sound should lose its "
                                  "map on silence or noise and move it with another file's sound; a map "
                                  "that stays the same without the sound is following the picture only.")
        form.addRow("Audio for maps", self.audio_box)
        self.audio_note = QLabel("")
        self.audio_note.setWordWrap(True)
        form.addRow("", self.audio_note)

        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addStretch(1)
        self.set_options(options)
        self.layout_box.activated.connect(self._emit)
        self.head_box.activated.connect(self._emit)
        self.cmap_box.activated.connect(self._emit)
        self.scale_box.activated.connect(self._emit)
        self.opacity.valueChanged.connect(self._emit)
        self.threshold.valueChanged.connect(self._emit)
        for cb in (self.contour, self.peak, self.boxes):
            cb.toggled.connect(self._emit)
        self.audio_box.activated.connect(lambda k: self.audio_kind_chosen.emit(self.audio_box.itemData(k)))

    def set_options(self, o: DisplayOptions) -> None:
        """Show ``o`` without emitting ``changed``."""
        widgets = (self.layout_box, self.head_box, self.cmap_box, self.scale_box, self.opacity,
                   self.threshold, self.contour, self.peak, self.boxes)
        for w in widgets:
            w.blockSignals(True)
        self.layout_box.setCurrentIndex(max(0, self.layout_box.findData(o.layout)))
        k = self.head_box.findData(o.head)
        if k >= 0:
            self.head_box.setCurrentIndex(k)
        self.head_box.setEnabled(o.layout == "single")
        self.cmap_box.setCurrentText(o.colormap)
        self.scale_box.setCurrentIndex(max(0, self.scale_box.findData(o.scale)))
        self.opacity.setValue(int(round(o.opacity * 100)))
        self.threshold.setValue(o.threshold)
        self._show_state(o)
        self.contour.setChecked(o.contour)
        self.peak.setChecked(o.peak)
        self.boxes.setChecked(o.boxes)
        for key, cb in self.head_checks.items():
            cb.blockSignals(True)
            cb.setChecked(key not in o.hidden)
            cb.blockSignals(False)
        for w in widgets:
            w.blockSignals(False)
        self.options = o

    def set_models(self, models) -> None:
        """The heads offered in "One head" (ModelInfo list)."""
        current = self.options.head
        self.head_box.blockSignals(True)
        self.head_box.clear()
        for m in models:
            self.head_box.addItem(head_label(m.name, m.head), m.key)
        self.head_box.blockSignals(False)
        for w in self._head_rows:
            self.heads_box.removeWidget(w)
            w.deleteLater()
        self.head_checks, self.unload_buttons, self._head_rows = {}, {}, []
        for m in models:
            cb = _nofocus(QCheckBox(head_label(m.name, m.head)))
            cb.setIcon(_swatch(head_colour(m.name, m.head)))  # the head's colour, readable on any theme
            cb.setToolTip(f"Draw {head_label(m.name, m.head)} side by side ({m.path})")
            cb.setChecked(m.key not in self.options.hidden)
            cb.toggled.connect(self._emit)
            unload = _nofocus(QToolButton())
            unload.setText("×")
            unload.setAutoRaise(True)
            unload.setToolTip(f"Unload {head_label(m.name, m.head)} (File › Add model… brings it back)")
            unload.clicked.connect(lambda _=False, key=m.key: self.unload_requested.emit(key))
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(cb, 1)
            lay.addWidget(unload)
            self.heads_box.addWidget(row)
            self.head_checks[m.key], self.unload_buttons[m.key] = cb, unload
            self._head_rows.append(row)
        if models and current not in [m.key for m in models]:
            current = models[-1].key if all(m.head != "dnm" for m in models) else \
                next(m.key for m in models if m.head == "dnm")
        hidden = tuple(k for k in self.options.hidden if k in self.head_checks)
        self.set_options(replace(self.options, head=current, hidden=hidden))

    def set_audio_kind(self, kind: str, note: str = "") -> None:
        self.audio_box.setCurrentIndex(max(0, self.audio_box.findData(kind)))
        self.audio_note.setText(note)

    def _emit(self, *_):
        scale = self.scale_box.currentData()
        o = DisplayOptions(
            scale_chosen=self.options.scale_chosen or scale != self.options.scale,
            layout=self.layout_box.currentData(), head=self.head_box.currentData(),
            colormap=self.cmap_box.currentText(), opacity=self.opacity.value() / 100.0,
            threshold=round(self.threshold.value(), 2), contour=self.contour.isChecked(),
            peak=self.peak.isChecked(), boxes=self.boxes.isChecked(), scale=scale,
            hidden=tuple(k for k, cb in self.head_checks.items() if not cb.isChecked()))
        self.head_box.setEnabled(o.layout == "single")
        self.options = o
        self._show_state(o)
        self.changed.emit(o)

    def _show_state(self, o: DisplayOptions) -> None:
        """The opacity's number, the colour bar and the scale's meaning for ``o``."""
        self.opacity_value.setText(f"{int(round(o.opacity * 100))} %")
        self.colour_bar.set_state(o.colormap, o.opacity, o.scale, o.threshold)
        # the absolute scale needs no warning (the bar's ticks are the values); min-max does
        self.scale_note.setText(SCALE_NOTES.get(o.scale, o.scale))
        self.scale_note.setVisible(o.scale != "absolute")
