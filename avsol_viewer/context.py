"""What a feature may ask of the main window (SLEAP's ``CommandContext``).

Every feature of the viewer (evaluate, train, export, live, annotate, the sound check,
inspection, the welcome canvas) is handed one :class:`WindowContext` when it is installed,
and asks it, never the window, for what it needs:

- report an error (:meth:`WindowContext.error`: one line in the status bar and the same
  text in a message box, which tests and the headless run replace), or set the status line
  (:meth:`WindowContext.status`);
- add a dock (:meth:`WindowContext.add_dock`, with its area and tab group) or an action at its
  menu path with its shortcut (:meth:`WindowContext.add_action`, :meth:`WindowContext.menu`);
- the settings, the head styles (colours and titles, :mod:`avsol_viewer.maps.head_style`);
- the window's shared parts (controller, presenter, heads, spectrogram, segment panel,
  transport) and its public commands (open a file, add a model, load annotations, change the
  display options, give the bottom area the window);
- hooks run before and when the window closes, and the other features by name.

So a feature depends on this small surface, not on the window's layout code or its private
members (a test walks the package's syntax trees to keep it so), and a feature can be built
in a test against a real window's context.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from avsol_viewer.maps import head_style

if TYPE_CHECKING:  # the window imports this module; the name is only for annotations
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

#: separator of the levels of a menu path: ``"Live › Camera"``
MENU_SEP = "›"
#: dock areas by name (:meth:`WindowContext.add_dock`)
AREAS = ("left", "right", "top", "bottom")


def _plain(title: str) -> str:
    """A menu's title without its mnemonic ampersand: ``"&File"`` -> ``"File"``."""
    return title.replace("&", "").strip()


class WindowContext:
    """The services the main window offers its features (see the module docstring).

    Built by :class:`~avsol_viewer.main_window.MainWindow` as ``window.context`` before any
    feature is installed; features keep it instead of the window.
    """

    def __init__(self, window):
        self._window = window
        #: the features installed so far, by name (``"evaluation"``, ``"live"``, ...)
        self.features: dict[str, object] = {}
        self._close_asks: set[str] = set()
        self._groups: dict[str, QDockWidget] = {}   # a tab group's first dock

    # -- messages ---------------------------------------------------------------------------
    def error(self, title: str, text: str) -> None:
        """A problem the user must see: the one line in the status bar (15 s) and in a
        message box titled ``title`` (``window.report_error``: tests collect it instead)."""
        w = self._window
        w.last_error = text
        w.statusBar().showMessage(text, 15000)
        w.report_error(title, text)

    def status(self, text: str, ms: int = 0) -> None:
        """Show ``text`` in the status line (for ``ms`` milliseconds; 0: until replaced)."""
        self._window.statusBar().showMessage(text, ms)

    # -- docks and actions ------------------------------------------------------------------
    def add_dock(self, title: str, widget: QWidget, name: str, area: str = "bottom",
                 group: str | None = None) -> QDockWidget:
        """A dock holding ``widget``, in ``area`` (one of :data:`AREAS`), shown at once.
        Docks of one ``group`` share their place as tabs. ``group="bottom"`` is the window's
        one bottom area (Evaluation, Training, Follows the sound?): its docks scroll their
        panel, are hidden until shown, closable, and given the window by Maximise bottom
        panel."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QDockWidget

        w = self._window
        if group == "bottom":
            return w.add_bottom_tab(title, widget, name)
        if area not in AREAS:
            raise ValueError(f"dock area {area!r} is not one of {', '.join(AREAS)}")
        dock = QDockWidget(title, w)
        dock.setObjectName(name)
        dock.setWidget(widget)
        where = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
                 "top": Qt.DockWidgetArea.TopDockWidgetArea, "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}[area]
        w.addDockWidget(where, dock)
        if group is not None:
            first = self._groups.setdefault(group, dock)
            if first is not dock:
                w.tabifyDockWidget(first, dock)
        return dock

    def menu(self, path: str, before: str | None = None) -> QMenu:
        """The menu at ``path`` (``"View"``, ``"Live › Camera"``), made when missing. A new
        top-level menu goes before the top-level menu titled ``before`` (``"Help"``), else last;
        a new submenu goes last in its parent. Titles match without their ``&``, and a missing
        level is made with the title as written (``"&Tools"`` for its mnemonic)."""
        from PySide6.QtWidgets import QMenu

        parts = [p.strip() for p in path.split(MENU_SEP) if p.strip()]
        if not parts:
            raise ValueError("empty menu path")
        bar = self._window.menuBar()
        menu = None
        for depth, part in enumerate(parts):
            actions = bar.actions() if menu is None else menu.actions()
            found = next((a.menu() for a in actions if a.menu() is not None and _plain(a.text()) == _plain(part)),
                         None)
            if found is None:
                found = QMenu(part, self._window)
                if menu is None:
                    anchor = next((a for a in actions if before and _plain(a.text()) == _plain(before)), None)
                    bar.insertMenu(anchor, found) if anchor is not None else bar.addMenu(found)
                else:
                    menu.addMenu(found)
            menu = found
        return menu

    def add_action(self, name: str, text: str, shortcut: str | None, slot: Callable, menu: str | None = None, *,
                   checkable: bool = False, tip: str | None = None, after: str | None = None,
                   separator: bool = False) -> QAction:
        """An action named ``name`` (``actions_by_name[name]``, which the shortcuts dialog and
        tests read) with its ``shortcut``, added to the menu at path ``menu`` (None: to the window
        only, a key with no menu entry). ``after`` names the action (or submenu title) it follows
        in that menu; ``separator`` puts a separator before it."""
        from avsol_viewer.playback.transport import make_action

        w = self._window
        act = make_action(w, text, shortcut, slot, checkable=checkable, tip=tip)
        w.actions_by_name[name] = act
        if menu is None:      # make_action added it to the window: its key works anywhere
            return act
        m = self.menu(menu)
        if separator:
            m.addSeparator()
        if after is None:
            m.addAction(act)
            return act
        items = m.actions()
        anchor = w.actions_by_name.get(after)
        if anchor not in items:
            anchor = next((a for a in items if a.menu() is not None and _plain(a.text()) == _plain(after)), None)
        k = items.index(anchor) + 1 if anchor in items else len(items)
        m.insertAction(items[k], act) if k < len(items) else m.addAction(act)
        return act

    def action(self, name: str) -> QAction | None:
        """The action registered as ``name`` (None if no feature added it)."""
        return self._window.actions_by_name.get(name)

    # -- settings and styles ----------------------------------------------------------------
    @property
    def settings(self):
        """The viewer's :class:`~avsol_viewer.settings.ViewerSettings`."""
        return self._window.settings

    @property
    def styles(self):
        """Head colours and titles: :mod:`avsol_viewer.maps.head_style`, the one definition."""
        return head_style

    # -- the window's shared parts ----------------------------------------------------------
    @property
    def widget(self) -> QWidget:
        """The window as a parent for a feature's dialogs and child objects (never to be
        reached into: its layout is its own)."""
        return self._window

    @property
    def controller(self):
        return self._window.controller

    @property
    def presenter(self):
        return self._window.presenter

    @property
    def heads(self):
        return self._window.heads

    @property
    def spectrogram(self):
        return self._window.spectrogram

    @property
    def segment(self):
        return self._window.segment

    @property
    def transport(self):
        return self._window.transport

    @property
    def options(self):
        """The display options in force (:class:`~avsol_viewer.panels.display_panel.DisplayOptions`)."""
        return self._window.display.options

    # -- the window's commands --------------------------------------------------------------
    def set_options(self, options) -> None:
        """New display options: the Display panel, the drawing and the settings follow."""
        self._window.set_options(options)

    def open_path(self, path: str | os.PathLike) -> bool:
        """Open a video, report, checkpoint or annotations file, as File › Open; False on error."""
        return self._window.open_path(path)

    def load_checkpoint(self, path: str | os.PathLike, family: str | None = None) -> None:
        self._window.load_checkpoint(path, family)

    def load_annotations(self, path: str | os.PathLike) -> bool:
        return self._window.load_annotations(path)

    def bottom_maximised(self) -> bool:
        return self._window.bottom_maximised()

    def set_bottom_maximised(self, on: bool) -> None:
        self._window.set_bottom_maximised(on)

    # -- closing and other features ---------------------------------------------------------
    def on_close(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` first thing when the window closes (stop threads and children)."""
        self._window.close_hooks.append(hook)

    def ask_before_close(self, key: str, ask: Callable[[], bool]) -> None:
        """Ask ``ask()`` before the window closes (False keeps it open); once per ``key``,
        whichever feature installs it first."""
        if key not in self._close_asks:
            self._close_asks.add(key)
            self._window.confirm_close.append(ask)

    def install_event_filter(self, obj) -> None:
        """Let ``obj`` see the window's events first (a guard on Close)."""
        self._window.installEventFilter(obj)

    def register(self, name: str, feature):
        """Make ``feature`` known by ``name`` to the other features (and the window's
        attribute of that name, which tests and the entry points use); returns it."""
        self.features[name] = feature
        setattr(self._window, name, feature)
        return feature

    def feature(self, name: str):
        """The feature installed as ``name``, or None."""
        return self.features.get(name)
