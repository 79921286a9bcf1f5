"""The evaluation's menu commands, split ask / do (SLEAP): Tools › Evaluate folder…,
File › Open report…, inspecting an item, next / previous failure, exports.

``ask_*`` functions show a dialog and call the matching plain function, which needs no
dialog (tests call those). Every function takes the window's
:class:`~avsol_viewer.context.WindowContext` (``ctx``), never the window; the state is the
feature ``"evaluation"`` (an :class:`Evaluation`, also ``window.evaluation``), with the
results panel in a tab of the bottom area.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from avsol_viewer.evaluate.eval_job import EvalJob, EvalRequest
from avsol_viewer.evaluate.report_source import ReportSource, checkpoint_paths
from avsol_viewer.evaluate.results_panel import ResultsPanel, describe
from avsol_viewer.jobs.feature import JobFeature

NEXT_FAILURE, PREVIOUS_FAILURE = "F", "Shift+F"


class Evaluation(JobFeature):
    """The window's evaluation state: the results panel, its dock, the job, the report's
    sources (video paths, segments)."""

    def __init__(self, ctx):
        super().__init__(ctx, "Evaluation", "evaluation_dock", ResultsPanel(), EvalJob(ctx.widget))
        self.ctx = ctx
        self.panel.item_activated.connect(lambda row: inspect_item(ctx, row))
        self.panel.edit_requested.connect(lambda row: edit_ground_truth(ctx, row))
        self.panel.export_buttons["json"].clicked.connect(lambda: ask_export(ctx, "json"))
        self.panel.export_buttons["csv"].clicked.connect(lambda: ask_export(ctx, "csv"))
        self.panel.export_buttons["sheet"].clicked.connect(lambda: ask_contact_sheet(ctx))
        self._source: ReportSource | None = None
        self._source_of: object = None
        self.last_opened: tuple[str, float, str] | None = None   # (video path, time, head) of the last inspection
        self.requested: set[str] = set()      # checkpoints asked for by an inspection
        self.pending_head: str | None = None  # the head to show once its checkpoint has loaded
        ctx.controller.maps.models_changed.connect(self._on_models)

    def _on_models(self, _models) -> None:
        if self.pending_head is not None:
            _show_head(self.ctx, self.pending_head)
        if self.requested:
            # views added while a video is open keep an empty range until the next fit
            # (maps/heads_panel); fit them so the heads loaded for an item show it
            self.ctx.heads.reset_zoom()

    def forget_source(self) -> None:
        """A new report or request: its sources are read again when next asked for."""
        self._source = None

    def source(self) -> ReportSource | None:
        """The video paths and segments of the report shown (or of the running request),
        read once per report / request."""
        report, key = self.panel.report, id(self.panel.report)
        if report is None and self.job.request is not None:
            r = self.job.request
            key = ("request", r.data, r.annotations)
            if self._source_of == key:
                return self._source
            report = {"meta": {"data": os.path.abspath(r.data), "annotations": _annotations_of(r)}}
        if report is None:
            return None
        if self._source is None or self._source_of != key:
            self._source, self._source_of = ReportSource(report), key
        return self._source


def _annotations_of(r: EvalRequest) -> str | None:
    from model_core.errors import InputError
    from model_core.evaluation.dataset import load_eval_set

    try:
        return str(load_eval_set(r.data, r.annotations).annotations.resolve())
    except InputError:
        return r.annotations


def install_evaluate_actions(ctx) -> Evaluation:
    """Tools › Evaluate folder…, File › Open report…, View › Next / Previous failure."""
    from avsol_viewer.asks import install_quit_confirmation

    ev = ctx.register("evaluation", Evaluation(ctx))
    install_quit_confirmation(ctx)            # "Evaluation is running: stop it (resumable) and quit?"
    ctx.on_close(ev.panel.shutdown)
    ctx.add_action("open_report", "Open &report…", "Ctrl+Shift+O", lambda: ask_open_report(ctx),
                   menu="File", after="Open recent")
    ctx.add_action("evaluate", "&Evaluate folder…", "Ctrl+Shift+E", lambda: ask_evaluate(ctx), menu=tools_menu(ctx))
    ctx.add_action("next_failure", "Next failure", NEXT_FAILURE, lambda: step_failure(ctx, 1), menu="View",
                   separator=True)
    ctx.add_action("previous_failure", "Previous failure", PREVIOUS_FAILURE, lambda: step_failure(ctx, -1),
                   menu="View")
    ctx.menu("View").addAction(ev.dock.toggleViewAction())
    return ev


def tools_menu(ctx) -> str:
    """The Tools menu's path (the menu is made before Help the first time it is asked for)."""
    ctx.menu("&Tools", before="Help")
    return "Tools"


def _evaluation(ctx) -> Evaluation:
    return ctx.feature("evaluation")


# -- evaluate -------------------------------------------------------------------------------
def ask_evaluate(ctx) -> None:
    from avsol_viewer.evaluate.eval_dialog import EvalDialog

    if _evaluation(ctx).job.running():
        ctx.error("An evaluation is running", "Cancel it first (Evaluation panel).")
        return
    ckpts = [m.path for m in ctx.controller.maps.models]
    dlg = EvalDialog(ctx.settings.last_folder() or "", ckpts, ctx.widget, settings=ctx.settings)
    if dlg.exec():
        evaluate(ctx, dlg.request())


def evaluate(ctx, request: EvalRequest) -> EvalJob:
    """Run ``avsol eval`` for ``request`` in a child process; the panel fills as it runs."""
    ev = _evaluation(ctx)
    ev.forget_source()
    return ev.run(request)


def open_report(ctx, path: str | os.PathLike) -> bool:
    """Show a saved report in the panel; False (and a message naming the file) if it is not one."""
    from model_core.errors import InputError
    from model_core.metrics.rescore import read_report

    try:
        report = read_report(path)
    except InputError as exc:
        ctx.error(f"Cannot open {Path(path).name}", str(exc))
        return False
    ev = _evaluation(ctx)
    ev.forget_source()
    ev.panel.show_report(report, os.fspath(path))
    resumable = None if ev.job.running() else request_of(report, path)
    if resumable is not None:
        ev.job.request = resumable       # Resume finishes an incomplete run from its items log
    ev.panel.resume_button.setEnabled(resumable is not None)
    ev.show()
    return True


def request_of(report: dict, path: str | os.PathLike) -> EvalRequest | None:
    """The request that finishes an incomplete ``avsol eval`` report (None otherwise)."""
    meta = report.get("meta", {}) or {}
    paths = checkpoint_paths(report)
    if meta.get("command") != "eval" or meta.get("complete") or not meta.get("data") or not paths:
        return None
    ann = meta.get("annotations")
    if ann and Path(ann).parent == Path(meta["data"]):
        ann = None                       # found in DATA, as the first run found it
    return EvalRequest(data=meta["data"], checkpoints=tuple(paths.values()), out=os.fspath(path),
                       annotations=ann, threshold=meta.get("threshold") or "median",
                       device=meta.get("device", "auto") if str(meta.get("device", "")).startswith(("cpu", "cuda")) else "auto",
                       batch_size=int(meta.get("batch_size") or 16), resume=True)


def ask_open_report(ctx) -> None:
    path, _ = QFileDialog.getOpenFileName(ctx.widget, "Open report", ctx.settings.last_folder(),
                                          "Reports (*.json);;All files (*)")
    if path:
        open_report(ctx, path)


# -- inspect --------------------------------------------------------------------------------
def inspect_item(ctx, row: dict) -> bool:
    """Open the row's video at its item time with its annotations and that head's map
    (loading the head's checkpoint when the report names it); False if it cannot be."""
    ev = _evaluation(ctx)
    ctx.status(describe(row), 15000)
    src = ev.source()
    if src is None or src.problem:
        ctx.error("Cannot open the item", src.problem if src else "no report")
        return False
    _preview(ctx, row, src)
    path = src.video_path(row.get("video"))
    if path is None:
        ctx.error("Cannot open the item", f"{row.get('video')}: the video file is not in the folder")
        return False
    c = ctx.controller
    if c.session is None or Path(c.session.path).resolve() != Path(path).resolve():
        if not ctx.open_path(path):
            return False
    if c.session is not None and c.session.annotations is None and getattr(src, "annotations", None):
        ctx.load_annotations(src.annotations)
    _show_head(ctx, row.get("head"))
    c.player.pause()
    c.player.seek(float(row.get("time") or 0.0))
    ev.last_opened = (str(path), float(row.get("time") or 0.0), row.get("head"))
    if row.get("negatives"):                # avsol eval --negatives: the item's figures
        from avsol_viewer.maps.sound_check import report_negatives_text

        ctx.segment.show_negatives(report_negatives_text(row))
    return True


def edit_ground_truth(ctx, row: dict) -> bool:
    """"Edit ground truth": open the item (as :func:`inspect_item`), then annotate mode on the
    report's annotations file at the item's segment; False (one message) if it cannot be."""
    if not inspect_item(ctx, row):
        return False
    src = _evaluation(ctx).source()
    if not ctx.feature("annotate").start(src.annotations):
        return False
    ctx.feature("annotate").go_to_time(float(row.get("time") or 0.0))
    return True


def _preview(ctx, row: dict, src: ReportSource) -> None:
    """Every head on the item, under the report's threshold rule, beside the table."""
    from avsol_viewer.evaluate.contact_sheet import item_heads

    panel = _evaluation(ctx).panel
    try:
        panel.show_preview(item_heads(panel.preview_report(), row, src))
    except (ValueError, OSError):
        panel.show_preview(None)


def _show_head(ctx, head: str | None) -> None:
    """Load the report's checkpoints not loaded yet (side by side shows every head on the
    same item) and make ``head`` the one shown in the one-head layout."""
    if head is None:
        return
    from dataclasses import replace

    maps = ctx.controller.maps
    loaded = {str(Path(m.path).resolve()) for m in maps.models}
    wanted = checkpoint_paths(_evaluation(ctx).panel.report or _request_report(ctx))
    ev = _evaluation(ctx)
    for name, path in wanted.items():
        key = str(Path(path).resolve())
        if key not in loaded and key not in ev.requested and os.path.exists(path):
            ev.requested.add(key)
            ctx.load_checkpoint(path)       # shown when it has loaded
    target = wanted.get(head)
    match = next((m for m in maps.models if (target and Path(m.path).resolve() == Path(target).resolve())
                  or (not target and m.name == head)), None)
    if match is None:
        ev.pending_head = head
        return
    ev.pending_head = None
    o = ctx.options
    if o.head != match.key:
        ctx.set_options(replace(o, head=match.key))


def _request_report(ctx) -> dict:
    """The checkpoints of the running request, as a report's meta would name them."""
    from model_core.evaluation.runner import head_names

    r = _evaluation(ctx).job.request
    if r is None:
        return {}
    return {"meta": {"checkpoints": [{"name": n, "path": os.path.abspath(p)}
                                     for n, p in zip(head_names(r.checkpoints), r.checkpoints)]}}


def step_failure(ctx, step: int) -> dict | None:
    """Next (1) / previous (-1) failure of the rows shown, opened in the player."""
    return _evaluation(ctx).panel.step_failure(step)


# -- export ---------------------------------------------------------------------------------
def export_report(ctx, path: str | os.PathLike, kind: str = "json") -> bool:
    """The report shown as JSON (as ``avsol eval`` writes it) or its items as CSV."""
    from model_core.atomic import write_text
    from model_core.metrics.report import items_csv, write_report

    from model_core.errors import InputError
    from model_core.input_protection import meta_inputs, report_inputs
    from model_core.outputs.checks import check_writable_output

    report = _evaluation(ctx).panel.report
    if report is None:
        ctx.error("Nothing to export", "No report is shown yet.")
        return False
    try:  # never over the report shown, what it points at, or any data file (one rule)
        panel = _evaluation(ctx).panel
        path = check_writable_output(path, "csv" if kind == "csv" else "report",
                                     [*report_inputs(getattr(panel, "report_path", None)),
                                      *report_inputs(getattr(panel, "source_path", None)),
                                      *meta_inputs(report.get("meta"))], label="the export")
    except InputError as exc:
        ctx.error("Cannot export", str(exc))
        return False
    try:
        if kind == "csv":
            write_text(path, items_csv(report["items"]))
        else:
            write_report(path, report)
    except OSError as exc:
        ctx.error("Cannot export", f"{path}: {exc.strerror or exc}")
        return False
    if kind != "csv":
        panel.mark_saved(path)  # the rescored report is saved now: its status says so
    ctx.status(f"exported {path}", 6000)
    return True


def export_name(ctx, kind: str) -> str:
    """The path Export JSON / CSV proposes: beside the report shown, named after it, and
    after a rescore named for the new rule too (``report.fixed-0.5.json``), so the
    original report is not proposed for overwriting; a report with no file yet goes to
    the default output folder."""
    from model_core.metrics.threshold import canonical
    from avsol_viewer.output_folder import default_output_dir

    panel = _evaluation(ctx).panel
    suffix = ".csv" if kind == "csv" else ".json"
    meta = (panel.report or {}).get("meta", {}) or {}
    source = panel.report_path or panel.source_path
    if source:
        base = Path(source)
    else:
        base = default_output_dir(ctx.settings, "report", meta.get("data")) / "avsol-report.json"
    if panel.report_path is None and meta.get("rescored_from") is not None:
        stem = base.stem
        try:
            old, new = canonical(meta.get("rescored_from")), canonical(meta.get("threshold"))
        except ValueError:
            old, new = None, str(meta.get("threshold"))
        tag = lambda rule: str(rule).replace(":", "-")      # noqa: E731 - names a file
        if old and stem.endswith("." + tag(old)):
            stem = stem[: -len(tag(old)) - 1]               # report.median.json -> report.fixed-0.5.json
        return str(base.with_name(f"{stem}.{tag(new)}{suffix}"))
    return str(base.with_suffix(suffix))


def ask_export(ctx, kind: str) -> None:
    from avsol_viewer.output_folder import ensure_folder, remember_output

    default = export_name(ctx, kind)
    ensure_folder(Path(default).parent)
    path, _ = QFileDialog.getSaveFileName(ctx.widget, f"Export {kind.upper()}", default,
                                          "CSV (*.csv)" if kind == "csv" else "JSON (*.json)")
    if path:
        if export_report(ctx, path, kind):
            remember_output(ctx.settings, "report", path)


def contact_sheet(ctx, path: str | os.PathLike, n: int = 16) -> int:
    """The contact sheet PNG of the ``n`` worst items; the number of tiles (0 on error)."""
    from avsol_viewer.evaluate.contact_sheet import save_contact_sheet
    from model_core.errors import InputError

    ev = _evaluation(ctx)
    if ev.panel.report is None:
        ctx.error("Nothing to export", "No report is shown yet.")
        return 0
    try:
        n = save_contact_sheet(ev.panel.report, path, n, source=ev.source())
    except InputError as exc:                      # a path no image may replace
        ctx.error("Cannot write the contact sheet", str(exc))
        return 0
    except (ValueError, OSError) as exc:
        ctx.error("Cannot write the contact sheet", f"{path}: {exc}")
        return 0
    ctx.status(f"contact sheet of {n} items: {path}", 6000)
    return n


def ask_contact_sheet(ctx) -> None:
    n, ok = QInputDialog.getInt(ctx.widget, "Contact sheet", "Worst items:", 16, 1, 200)
    if not ok:
        return
    from avsol_viewer.output_folder import ensure_folder, remember_output

    default = Path(export_name(ctx, "json")).with_name("worst.png")   # beside the report, or the default folder
    ensure_folder(default.parent)
    path, _ = QFileDialog.getSaveFileName(ctx.widget, "Contact sheet", str(default), "PNG (*.png)")
    if path and contact_sheet(ctx, path, n):
        remember_output(ctx.settings, "report", path)
