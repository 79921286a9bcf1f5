"""The one job panel: a job's status, its bar with the time left, Cancel and Resume.

Evaluate and Train put it at the top of their docks and the overlay export in its progress
window; each owner adds its own buttons (Train's "Load into viewer") and says the final
status, which only it can word (rows kept, checkpoints written). What a job reports comes
through :class:`~avsol_viewer.jobs.job.Job`'s signals, so the panel never knows which job
it shows.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

#: The colour of a failed job's status.
FAILED_STYLE = "color: #e76f51;"


def eta_text(seconds) -> str:
    """``ETA m:ss`` (``h:mm:ss`` from an hour); ``ETA …`` while unknown."""
    if seconds is None:
        return "ETA …"
    s = int(round(seconds))
    return f"ETA {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"ETA {s // 60}:{s % 60:02d}"


class JobPanel(QWidget):
    """Shows one :class:`~avsol_viewer.jobs.job.Job`.

    ``stacked``: the status on a line of its own above the bar (long statuses: training),
    else status, bar and buttons on one line (the results panel). ``resume_requested`` is
    emitted by Resume; the owner restarts the job (it knows the request to resume).
    """

    resume_requested = Signal()

    def __init__(self, idle_text: str = "", *, stacked: bool = False, resumable: bool = True, parent=None):
        super().__init__(parent)
        self.job = None
        self.status = QLabel(idle_text)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.eta = QLabel("")
        self.cancel_button, self.resume_button = QPushButton("Cancel"), QPushButton("Resume")
        for b in (self.cancel_button, self.resume_button):
            b.setEnabled(False)
        self.resume_button.setVisible(resumable)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume_requested)
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        for w in (self.eta, self.cancel_button, self.resume_button):
            self.buttons.addWidget(w)
        if stacked:
            # the bar with the whole width left of the buttons: its text is never clipped
            row = QHBoxLayout()
            row.addWidget(self.bar, 1)
            row.addLayout(self.buttons)
            lay = QVBoxLayout(self)
            lay.addWidget(self.status)
            lay.addLayout(row)
        else:
            lay = QHBoxLayout(self)
            lay.addWidget(self.status, 1)
            lay.addWidget(self.bar)
            lay.addLayout(self.buttons)
        lay.setContentsMargins(0, 0, 0, 0)

    def add_button(self, button: QPushButton) -> None:
        """One of the owner's buttons, after Resume."""
        self.buttons.addWidget(button)

    def attach(self, job) -> None:
        """Show ``job`` from now on (once per job)."""
        if self.job is job:
            return
        self.job = job
        job.status_changed.connect(self.set_status)
        job.progressed.connect(self.show_progress)
        job.ended.connect(self._on_ended)

    def begin(self, text: str, eta: str = "") -> None:
        """A run starts: a busy bar until its first progress, Cancel on, Resume off."""
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.eta.setText(eta)
        self.set_status(text)
        self.cancel_button.setEnabled(True)
        self.resume_button.setEnabled(False)

    def set_status(self, text: str, failed: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(FAILED_STYLE if failed else "")

    def show_progress(self, done: int, total: int, eta, text: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(text)
        wide = self.bar.fontMetrics().horizontalAdvance(text.replace("%v", "000000").replace("%m", "000000"))
        if self.bar.minimumWidth() < wide + 24:
            self.bar.setMinimumWidth(wide + 24)
        self.eta.setText(eta_text(eta) if done < total else "")

    def cancel(self) -> None:
        if self.job is not None and self.job.running():
            self.set_status(self.job.cancelling_text)
            self.job.cancel()

    def _on_ended(self, outcome: str, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.bar.setVisible(False)
        self.eta.setText("")
        self.resume_button.setEnabled(self.job is not None and self.job.can_resume())


class JobOwner:
    """What a feature's panel that shows one resumable job does alike (Evaluate, Train):
    mixed into a widget with :attr:`job_view` (its :class:`JobPanel`), :attr:`job` (a
    :class:`~avsol_viewer.jobs.job.Job` whose ``request`` dataclass has a ``resume`` field)
    and ``started(request)``. Cancel goes through the job panel; Resume tells the panel a
    resumed run starts, then continues the job."""

    job_view: JobPanel
    job = None

    def started(self, request) -> None:  # pragma: no cover - each owner's own
        raise NotImplementedError

    def cancel(self) -> None:
        self.job_view.cancel()

    def resume(self) -> None:
        job = self.job
        if job is not None and not job.running() and job.request is not None:
            from dataclasses import replace

            self.started(replace(job.request, resume=True))
            job.resume()
