"""Playback controls: buttons, seek slider, time read-out, speed and loop, with shortcuts.

Every control is a ``QAction`` with a keyboard shortcut (listed by Help > Shortcuts); the
buttons show those actions, so a click, a key and a menu entry are the same command. The
controls never take keyboard focus, so the arrow keys and Space always reach the shortcuts.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QStyleOptionSlider,
                               QToolButton, QWidget)

from avsol_viewer.playback.player import SPEEDS, Player


def make_action(parent, text: str, shortcut: str | None, slot, checkable: bool = False,
                tip: str | None = None, icon=None) -> QAction:
    """A ``QAction`` with ``shortcut`` triggering ``slot`` (shown in the shortcuts dialog)."""
    action = QAction(text, parent)
    if icon is not None:
        action.setIcon(icon)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
    action.setStatusTip(tip or text)
    (action.toggled if checkable else action.triggered).connect(slot)
    parent.addAction(action)  # active whenever the window is
    return action


def fmt_time(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60.0)
    return f"{int(m):02d}:{s:06.3f}"


class SeekSlider(QSlider):
    """A slider over frame indices that jumps to where it is clicked, then drags."""

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def mousePressEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                 QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(ev.position().toPoint()):
                span = max(1, self.width() - handle.width())
                x = ev.position().x() - handle.width() / 2
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), int(x), span)
                self.setValue(value)
                self.sliderMoved.emit(value)
        super().mousePressEvent(ev)


class Transport(QWidget):
    """The transport bar of one :class:`Player`; ``actions`` maps names to its QActions."""

    seek_index = Signal(int)

    def __init__(self, player: Player, window, parent=None):
        super().__init__(parent)
        self.player = player
        st = self.style()
        icon = lambda sp: st.standardIcon(getattr(QStyle.StandardPixmap, sp))  # noqa: E731
        a = self.actions = {}
        a["play"] = make_action(window, "Play / pause", "Space", player.toggle, icon=icon("SP_MediaPlay"))
        a["frame_back"] = make_action(window, "Previous frame", "Left", lambda: player.step_frames(-1),
                                      icon=icon("SP_MediaSeekBackward"))
        a["frame_fwd"] = make_action(window, "Next frame", "Right", lambda: player.step_frames(1),
                                     icon=icon("SP_MediaSeekForward"))
        a["sec_back"] = make_action(window, "Back 1 s", "Shift+Left", lambda: player.step_seconds(-1.0))
        a["sec_fwd"] = make_action(window, "Forward 1 s", "Shift+Right", lambda: player.step_seconds(1.0))
        a["start"] = make_action(window, "Go to start", "Home", lambda: player.seek(0.0),
                                 icon=icon("SP_MediaSkipBackward"))
        a["end"] = make_action(window, "Go to end", "End", lambda: player.seek(1e12),
                               icon=icon("SP_MediaSkipForward"))
        a["slower"] = make_action(window, "Slower", "[", lambda: player.faster(-1))
        a["faster"] = make_action(window, "Faster", "]", lambda: player.faster(+1))
        a["loop"] = make_action(window, "Loop", "L", player.set_loop, checkable=True)
        self._icons = (icon("SP_MediaPlay"), icon("SP_MediaPause"))

        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        for name in ("start", "frame_back", "play", "frame_fwd", "end"):
            b = QToolButton(self)
            b.setDefaultAction(a[name])
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setAutoRaise(True)
            row.addWidget(b)
        self.slider = SeekSlider(self)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self.seek_index)
        row.addWidget(self.slider, 1)
        self.time_label = QLabel(self)
        self.time_label.setTextFormat(Qt.TextFormat.PlainText)
        self.time_label.setMinimumWidth(260)
        f = self.time_label.font()
        f.setFamily("monospace")
        f.setStyleHint(f.StyleHint.Monospace)
        self.time_label.setFont(f)
        row.addWidget(self.time_label)
        self.speed = QComboBox(self)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed ([ and ])")
        self.speed.activated.connect(lambda k: player.set_speed(self.speed.itemData(k)))
        row.addWidget(self.speed)
        loop = QToolButton(self)
        loop.setDefaultAction(a["loop"])
        loop.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(loop)

        player.playing_changed.connect(self._on_playing)
        player.speed_changed.connect(self._on_speed)
        player.loop_changed.connect(a["loop"].setChecked)
        self.seek_index.connect(player.seek_index)
        self.set_timeline(None)

    def set_timeline(self, timeline) -> None:
        self._timeline = timeline
        self.slider.setEnabled(timeline is not None)
        self.slider.setRange(0, max(0, (timeline.frame_count - 1) if timeline else 0))
        self.set_time(0.0)

    def set_time(self, t: float) -> None:
        tl = self._timeline
        if tl is None:
            self.time_label.setText("--:--.--- / --:--.---")
            return
        i = tl.index_at(t)
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(i)
            self.slider.blockSignals(False)
        self.time_label.setText(f"{fmt_time(t)} / {fmt_time(tl.duration)}  frame {i} of {tl.frame_count}")

    def _on_playing(self, playing: bool) -> None:
        self.actions["play"].setIcon(self._icons[1 if playing else 0])

    def _on_speed(self, speed: float) -> None:
        k = self.speed.findData(speed)
        if k >= 0:
            self.speed.setCurrentIndex(k)
