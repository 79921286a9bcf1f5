"""The Annotate dock: the segment's figures, the label and view choices, the buttons, and
the folder's videos with their progress (segments done / all).

Widgets only, plus the folder's progress rules (:func:`folder_videos`,
:func:`progress_text`, :func:`next_unfinished`), which read the document and nothing of
Qt; every action goes to the :class:`~avsol_viewer.annotate.mode.AnnotateMode` given.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from model_core.media_extensions import VIDEO


def folder_videos(folder: Path) -> list[Path]:
    """The videos of ``folder``, sorted by name (the side list's rows)."""
    try:
        return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in VIDEO and p.is_file())
    except OSError:
        return []


def progress_text(doc, name: str) -> tuple[str, bool]:
    """(``"NAME — done/all"`` or ``"NAME — not started"``, finished?) of one video."""
    v = doc.video(name)
    done, total = v.progress if v is not None else (0, 0)
    if total == 0:
        return f"{name} — not started", False
    return f"{name} — {done}/{total}", done >= total


def next_unfinished(doc, videos: list[Path], current: str | None) -> Path | None:
    """The first video after ``current`` (wrapping around) that is not finished, or None."""
    names = [p.name for p in videos]
    start = names.index(current) + 1 if current in names else 0
    for p in videos[start:] + videos[:start]:
        if p.name != current and not progress_text(doc, p.name)[1]:
            return p
    return None


class AnnotatePanel(QWidget):
    """The dock's contents, wired to ``mode``."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        lay = QVBoxLayout(self)
        self.segment_label = QLabel()
        self.segment_label.setWordWrap(True)
        lay.addWidget(self.segment_label)
        self.class_box = QComboBox()
        self.class_box.setEditable(True)
        self.class_box.setToolTip("the selected box's class (type a new one, or pick); T")
        # picked or typed + Return; the keys then go back to the canvas (a line edit keeps Ctrl+Z)
        self.class_box.textActivated.connect(mode.label_from_box)
        self.class_box.lineEdit().returnPressed.connect(lambda: mode.label_from_box(self.class_box.currentText()))
        lay.addWidget(QLabel("Label"))
        lay.addWidget(self.class_box)
        self.view_box = QComboBox()
        self.view_box.addItem("One annotator (mine)", "one")
        self.view_box.addItem("All annotators", "all")
        self.view_box.addItem("Consensus (read-only)", "consensus")
        self.view_box.activated.connect(lambda i: mode.set_view(self.view_box.itemData(i)))
        lay.addWidget(QLabel("Show"))
        lay.addWidget(self.view_box)
        row = QHBoxLayout()
        for text, slot in (("Copy previous", mode.copy_forward), ("No object", mode.toggle_no_object),
                           ("Save", mode.save)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)
        self.prefill_button = QPushButton("Prefill from head")
        self.prefill_button.setToolTip("boxes around the regions of a head's map above 0.5 (absolute scale) on the "
                                       "segment frame: the --prefill head, else the first loaded one")
        self.prefill_button.clicked.connect(mode.prefill)
        lay.addWidget(self.prefill_button)
        lay.addWidget(QLabel("Videos of the folder (segments done / all)"))
        self.video_list = QListWidget()
        self.video_list.itemActivated.connect(lambda item: mode.open_video(item.data(Qt.ItemDataRole.UserRole)))
        lay.addWidget(self.video_list, 1)
        nxt = QPushButton("Next unfinished video")
        nxt.clicked.connect(mode.next_unfinished_video)
        lay.addWidget(nxt)

    def fill_classes(self, labels: list[str]) -> None:
        self.class_box.clear()
        self.class_box.addItems(labels)

    def fill_videos(self, doc, videos: list[Path], current: str | None) -> None:
        """One row per video of the folder with its progress; ``current`` selected."""
        self.video_list.clear()
        for p in videos:
            item = QListWidgetItem(progress_text(doc, p.name)[0])
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            self.video_list.addItem(item)
            if p.name == current:
                self.video_list.setCurrentItem(item)

    def update_video(self, doc, name: str | None) -> None:
        """The row of ``name`` shows its progress now (after an edit)."""
        for k in range(self.video_list.count()):
            item = self.video_list.item(k)
            if Path(item.data(Qt.ItemDataRole.UserRole)).name == name:
                item.setText(progress_text(doc, name)[0])
