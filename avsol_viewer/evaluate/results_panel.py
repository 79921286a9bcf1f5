"""The results of an evaluation: progress, summary, curves, the items table, inspection,
rescoring and export.

One panel shows a running evaluation (rows fill in as the child reports them, the
summary is recomputed at most a few times a second) and a saved report (File > Open
report) alike. The status, bar with ETA, Cancel and Resume are the viewer's one job panel
(:class:`~avsol_viewer.jobs.panel.JobPanel`). Clicking a row emits :attr:`ResultsPanel.item_activated`; the window
opens that video at that item (``commands.inspect_item``). Next / previous failure walk
the rows in the order and filter shown. The threshold rule is a choice here: "Rescore"
scores the same maps again under it, in a worker thread, without any model.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from avsol_viewer.evaluate.items_table import ANY, GT_CHANGED, ItemsFilter, ItemsModel, failure_of, gt_changed
from avsol_viewer.evaluate.summary_view import SummaryView, summaries_from_rows
from avsol_viewer.jobs.panel import JobOwner, JobPanel
from avsol_viewer.workers import TrackedThread
from model_core.metrics.threshold import canonical

RULE_NAMES = ("median", "fixed", "top-gt")


class RescoreThread(TrackedThread):
    """``model_core.metrics.rescore.rescore_report`` off the GUI thread."""

    def __init__(self, report: dict, rule: str, parent=None):
        super().__init__("rescore", parent)
        self.report, self.rule = report, rule
        self.result: dict | None = None
        self.error: str | None = None

    def run(self) -> None:
        from model_core.errors import InputError
        from model_core.metrics.rescore import rescore_report

        try:
            self.result = rescore_report(self.report, self.rule)
        except (InputError, ValueError) as exc:
            self.error = str(exc)


class ResultsPanel(JobOwner, QWidget):
    """See the module docstring. ``report`` is the report shown (None while only streamed
    rows exist); ``job`` the :class:`~avsol_viewer.evaluate.eval_job.EvalJob` attached."""

    item_activated = Signal(dict)
    rescored = Signal(dict)
    edit_requested = Signal(dict)   # "Edit ground truth": the selected item, in annotate mode

    def __init__(self, parent=None):
        super().__init__(parent)
        self.report: dict | None = None
        self.report_path: str | None = None
        #: the last report file shown; kept through a rescore (which has no file) so that
        #: Export names the rescored report after it (commands.export_name)
        self.source_path: str | None = None
        self.job = None
        self.heads: list[str] = []
        self._rescore: RescoreThread | None = None
        self._dirty = QTimer(self, singleShot=True, interval=300)
        self._dirty.timeout.connect(self._refresh_summary)
        self._known: dict[str, set] = {key: set() for key in ("head", "failure", "class", "size")}
        self._pending_choice: dict = {}       # filter box -> choice to restore after a refill

        self.job_view = JobPanel("No evaluation yet: Tools › Evaluate folder…, or File › Open report…")
        self.job_view.resume_requested.connect(self.resume)
        v = self.job_view
        self.status, self.bar, self.eta = v.status, v.bar, v.eta
        self.cancel_button, self.resume_button = v.cancel_button, v.resume_button

        self.summary = SummaryView()

        self.model = ItemsModel(self)
        self.proxy = ItemsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        # no sort column until one is clicked: the rows keep the report's order, worst first
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        # every column as wide as its contents (video and class names whole, the short ones
        # narrow), so that cIoU, hit and failure stay in view beside the summary
        header.setSectionResizeMode(header.ResizeMode.ResizeToContents)
        self.table.activated.connect(lambda ix: self.activate(ix.row()))
        self.table.clicked.connect(lambda ix: self.activate(ix.row()))

        self.filters: dict[str, QComboBox] = {}
        fl = QHBoxLayout()
        for key in ("head", "failure", "class", "size"):
            box = QComboBox()
            box.addItem(ANY)
            box.setToolTip(f"show only this {key}")
            box.currentTextChanged.connect(lambda text, key=key: self.proxy.set_criterion(key, text))
            self.filters[key] = box
            fl.addWidget(QLabel(key))
            fl.addWidget(box, 1)
        self.search = QLineEdit()
        self.search.setPlaceholderText("video or error…")
        self.search.textChanged.connect(self.proxy.set_text)
        self.failures_only = QCheckBox("failures only")
        self.failures_only.toggled.connect(self.proxy.set_failures_only)
        self.prev_button, self.next_button = QPushButton("◀ failure"), QPushButton("failure ▶")
        self.prev_button.setToolTip("previous failure (Shift+F)")
        self.next_button.setToolTip("next failure (F)")
        self.prev_button.clicked.connect(lambda: self.step_failure(-1))
        self.next_button.clicked.connect(lambda: self.step_failure(1))
        fl.addWidget(self.search, 2)
        fl.addWidget(self.failures_only)
        fl.addWidget(self.prev_button)
        fl.addWidget(self.next_button)
        self.edit_gt_button = QPushButton("Edit ground truth")
        self.edit_gt_button.setToolTip("open the selected item in annotate mode, on the report's annotations file")
        self.edit_gt_button.clicked.connect(self._edit_selected)
        fl.addWidget(self.edit_gt_button)

        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.rule = QComboBox()
        self.rule.addItems(RULE_NAMES)
        self.rule.setToolTip("threshold rule of cIoU: median of the normalised map (the field's protocol), "
                             "fixed T on the raw sigmoid map, or the |GT| highest pixels")
        self.level = QDoubleSpinBox()
        self.level.setRange(0.0, 0.99)
        self.level.setSingleStep(0.05)
        self.level.setValue(0.5)
        self.level.setEnabled(False)
        self.rule.currentTextChanged.connect(lambda t: self.level.setEnabled(t == "fixed"))
        self.rescore_button = QPushButton("Rescore")
        self.rescore_button.setToolTip("score the same maps under this rule (no model runs)")
        self.rescore_button.clicked.connect(lambda: self.rescore(self.chosen_rule()))
        self.export_buttons: dict[str, QPushButton] = {}
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("threshold"))
        bottom.addWidget(self.rule)
        bottom.addWidget(self.level)
        bottom.addWidget(self.rescore_button)
        bottom.addStretch(1)
        for key, text in (("json", "Export JSON…"), ("csv", "Export CSV…"), ("sheet", "Contact sheet…")):
            b = QPushButton(text)
            b.setEnabled(False)
            self.export_buttons[key] = b
            bottom.addWidget(b)
        self.rescore_button.setEnabled(False)

        self.preview = QLabel("")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumWidth(200)
        self.preview.setToolTip("every head on the selected item: map, the region the report's threshold "
                                "rule predicts (white outline), GT boxes, peak")
        self._preview_image = None
        items_split = QSplitter(Qt.Orientation.Horizontal)
        items_split.addWidget(self.table)
        items_split.addWidget(self.preview)
        items_split.setStretchFactor(0, 3)
        items_split.setStretchFactor(1, 2)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(fl)
        ll.addWidget(items_split, 1)
        ll.addWidget(self.detail)
        # side by side: in the bottom area's height the items get every row of it (stacked
        # above them, the summary would leave them ~3 rows at 1366 x 768)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.summary)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([250, 750])  # weights: the items three times the summary's share
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.job_view)
        lay.addWidget(split, 1)
        lay.addLayout(bottom)

    # -- a running evaluation ---------------------------------------------------------------
    def attach(self, job) -> None:
        """Show ``job`` (an EvalJob) as it runs: call before ``job.start``."""
        if self.job is not job:
            self.job = job
            self.job_view.attach(job)
            job.rows_added.connect(self._on_rows)
            job.finished.connect(self._on_finished)
        self.report, self.report_path = None, job.request.out if job.request else None

    def started(self, request) -> None:
        """A run of ``request`` has just started (fresh or resumed)."""
        from model_core.evaluation.runner import head_names

        if not request.resume:
            self.model.set_rows([])
            self._fill_filters()
        self.heads = head_names(request.checkpoints)
        self.report, self.report_path = None, request.out
        self.job_view.begin(f"evaluating {request.data} ({', '.join(self.heads)}"
                            f"{', resumed' if request.resume else ''}; threshold {request.threshold})",
                            eta="starting…")
        self._set_rule(request.threshold)
        self._enable_report_actions(False)
        self._refresh_summary()

    def _on_rows(self, rows: list) -> None:
        self.model.append(rows)
        self._fill_filters(rows)
        if not self._dirty.isActive():
            # the summary is recomputed from every row: less often as they grow
            self._dirty.start(min(3000, 300 + len(self.model.rows) // 10))

    def _on_finished(self, outcome: str, report, message: str) -> None:
        if report is not None:
            self.show_report(report, self.job.request.out if self.job and self.job.request else None)
        else:
            self._refresh_summary()
        n = len(self.model.rows)
        if outcome == "done":
            self.job_view.set_status(f"done: {n} rows → {self.report_path}")
        elif outcome == "cancelled":
            self.job_view.set_status(f"cancelled: {n} rows kept (the videos done); Resume continues")
        else:
            self.job_view.set_status(f"the evaluation {outcome} ({n} rows kept; Resume retries):\n{message}",
                                     failed=True)

    # -- a report -------------------------------------------------------------------------
    def show_report(self, report: dict, path: str | None = None) -> bool:
        """Show a finished (or cancelled) run's report, or one opened from a file.

        Validated first, swapped in after (so a bad value never leaves the panel half-loaded
        under the previous report's title): a broken header changes nothing
        but the status line (False); rows that break the schema are shown at the top with
        status ``invalid`` and their problem, and left out of the summary, the curves,
        rescoring and the exports (``report_schema.usable_report``)."""
        from model_core.errors import InputError
        from model_core.metrics.report_schema import check_report, sanitized_row, usable_report

        try:
            bad = check_report(report, path)
            shown = usable_report(report, bad)
            marked = [sanitized_row(report["items"][i], problem) for i, problem in bad.items()]
        except InputError as exc:
            self.job_view.set_status(f"cannot show the report: {exc}", failed=True)
            return False
        self.report, self.report_path = shown, path
        if path:
            self.source_path = path
        self.show_preview(None)
        self.detail.setText("")
        self.heads = list(shown["heads"])
        self.model.set_rows(marked + list(shown["items"]))
        self._fill_filters()
        self.summary.show_summaries(shown["heads"], shown["items"])
        meta = shown.get("meta") or {}
        self._set_rule(meta.get("threshold"))
        self._enable_report_actions(True)
        notes = shown.get("notes") or []
        n_changed = sum(gt_changed(r) for r in self.model.rows)   # corrected ground truth
        self.job_view.set_status(f"{path or 'report'}: {len(self.model.rows)} rows, threshold "
                                 f"{canonical(meta.get('threshold'))}"
                                 + (f", {n_changed} with ground truth changed" if n_changed else "")
                                 + (f"\n{notes[0]}" if notes else ""), failed=bool(bad))
        return True

    def _enable_report_actions(self, on: bool) -> None:
        for b in self.export_buttons.values():
            b.setEnabled(on)
        self.rescore_button.setEnabled(on)

    def _refresh_summary(self) -> None:
        rows = self.model.rows
        heads = summaries_from_rows(rows, self.heads) if rows or self.heads else {}
        self.summary.show_summaries(heads, rows)

    def _fill_filters(self, rows: list | None = None) -> None:
        """Offer the values of ``rows`` (default: all rows, afresh) in the filter boxes;
        streaming rows only look at the new ones."""
        if rows is None:
            self._known = {key: set() for key in self.filters}
            rows = self.model.rows
            for box in self.filters.values():
                keep = box.currentText()
                box.blockSignals(True)
                box.clear()
                box.addItem(ANY)
                box.blockSignals(False)
                self._pending_choice[box] = keep
        for r in rows:
            for key, value in (("head", r.get("head")), ("failure", failure_of(r)), ("class", r.get("class")),
                               ("size", r.get("size")), ("failure", GT_CHANGED if gt_changed(r) else None)):
                if value and value not in self._known[key]:
                    self._known[key].add(value)
                    box = self.filters[key]
                    texts = [box.itemText(i) for i in range(1, box.count())]
                    box.blockSignals(True)
                    box.insertItem(1 + sum(t < value for t in texts), value)
                    box.blockSignals(False)
        for box, keep in self._pending_choice.items():
            box.setCurrentText(keep if box.findText(keep) >= 0 else ANY)   # a choice still offered stays
            if box.currentText() == ANY:
                self.proxy.set_criterion(next(k for k, b in self.filters.items() if b is box), None)
        self._pending_choice = {}

    # -- inspection -----------------------------------------------------------------------
    def activate(self, proxy_row: int) -> None:
        """Select a shown row and ask the window to open it."""
        if not 0 <= proxy_row < self.proxy.rowCount():
            return
        self.table.selectRow(proxy_row)
        row = self.proxy.row_at(proxy_row)
        self.detail.setText(describe(row))
        if row.get("status") == "invalid":
            return                  # nothing trustworthy to open: the detail line says why
        self.item_activated.emit(row)

    def _edit_selected(self) -> None:
        r = self.current_row()
        if 0 <= r < self.proxy.rowCount():
            self.edit_requested.emit(self.proxy.row_at(r))
        else:
            self.detail.setText("select an item first")

    def current_row(self) -> int:
        ix = self.table.currentIndex()
        return ix.row() if ix.isValid() else -1

    def step_failure(self, step: int) -> dict | None:
        """Open the next (1) or previous (-1) failure in the shown order; returns its row."""
        if self.proxy.rowCount() == 0:
            return None
        cur = self.current_row()
        r = self.proxy.next_failure(cur if cur >= 0 else (-1 if step > 0 else 0), step)
        if r is None:
            self.detail.setText("no failure among the rows shown")
            return None
        self.activate(r)
        return self.proxy.row_at(r)

    def show_preview(self, rgb) -> None:
        """Show an RGB uint8 picture (``contact_sheet.item_heads``) beside the table; None clears."""
        from PySide6.QtGui import QImage, QPixmap

        if rgb is None:
            self._preview_image = None
            self.preview.clear()
            return
        h, w = rgb.shape[:2]
        self._preview_image = rgb               # QImage borrows the buffer
        img = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
        size = self.preview.size()
        self.preview.setPixmap(QPixmap.fromImage(img).scaled(
            max(50, size.width()), max(50, size.height()), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def preview_report(self) -> dict:
        """The report the preview draws from: the one shown, or the rows received so far."""
        if self.report is not None:
            return self.report
        rule = self.job.request.threshold if self.job is not None and self.job.request else None
        return {"items": self.model.rows, "heads": {h: {} for h in self.heads}, "meta": {"threshold": rule}}

    # -- the threshold rule ---------------------------------------------------------------------
    def chosen_rule(self) -> str:
        name = self.rule.currentText()
        return f"fixed:{self.level.value():g}" if name == "fixed" else name

    def _set_rule(self, rule) -> None:
        try:
            rule = canonical(rule)
        except ValueError:
            return
        if rule.startswith("fixed:"):
            self.rule.setCurrentText("fixed")
            self.level.setValue(float(rule.split(":")[1]))
        elif rule in RULE_NAMES:
            self.rule.setCurrentText(rule)

    def rescore(self, rule: str, wait: bool = False) -> None:
        """Score the report's maps again under ``rule`` (in a thread; ``wait`` for tests)."""
        if self.report is None or (self._rescore is not None and self._rescore.isRunning()):
            return
        self.status.setText(f"rescoring under {rule}…")
        self.rescore_button.setEnabled(False)
        t = self._rescore = RescoreThread(self.report, rule, self)
        t.finished.connect(self._on_rescored)
        t.start()
        if wait:
            t.wait()
            self._on_rescored()

    def _on_rescored(self) -> None:
        t = self._rescore
        if t is None or t.isRunning():
            return
        self._rescore = None
        self.rescore_button.setEnabled(True)
        if t.error:
            self.job_view.set_status(f"cannot rescore: {t.error}", failed=True)
            return
        cur = self.current_row()
        item = self.proxy.row_at(cur) if cur >= 0 else None
        self.show_report(t.result, None)
        if item is not None:  # the inspected item's line, with its new numbers (never the old ones)
            same = lambda r: all(r.get(k) == item.get(k) for k in ("head", "video", "time"))  # noqa: E731
            k = next((i for i in range(self.proxy.rowCount()) if same(self.proxy.row_at(i))), None)
            if k is not None:
                self.table.selectRow(k)
                self.detail.setText(describe(self.proxy.row_at(k)))
        self.status.setText(f"rescored under {t.result['meta']['threshold']} (from "
                            f"{t.result['meta']['rescored_from']}); not saved: Export JSON… keeps it")
        self.rescored.emit(t.result)

    def mark_saved(self, path) -> None:
        """The report shown was exported as JSON: a rescore's "not saved" no longer holds."""
        text = self.status.text()
        if "not saved" in text:
            self.status.setText(text.split("; not saved", 1)[0] + f"; saved to {path}")

    def shutdown(self) -> None:
        """Closing: stop the child (what it did is kept) and any rescoring."""
        if self.job is not None and self.job.running():
            self.job.cancel()
            self.job.process.wait(20000)
        if self._rescore is not None:
            self._rescore.wait()


def describe(row: dict[str, Any]) -> str:
    """One human line of an item's numbers, for the panel and the status bar
    (:func:`avsol_viewer.evaluate.labels.describe`: nulls left out, "hit" / "miss", a
    failure label with its meaning; never raises)."""
    from avsol_viewer.evaluate.labels import describe as human

    return human(row)
