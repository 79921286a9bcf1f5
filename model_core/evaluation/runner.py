"""``avsol eval``: run checkpoints over a folder and score every annotated item.

Per video: decode it once for all its segments and all heads (``localize_many``: frames in
batches through every model, one audio embedding per window), score the maps of each head
(``model_core.metrics``), append every row of the video to the items log (one fsynced line,
so ``--resume`` after a kill redoes nothing already done), report progress. A missing
video gives ``missing`` rows, a video that fails to decode ``failed`` rows naming the
error, and the run goes on. Under ``torchrun`` the videos are sharded across ranks and
rank 0 merges the rows into the one report (``distributed``). The report is written
atomically at the end (JSON, optional CSV, items worst first).

``--negatives`` (SPEC 5, audio dependence): the same ``localize_many`` call also reads
every frame with the negative audios (``model_core.evaluation.negatives``: silence, noise,
off-screen draws) from the visual features of the own-audio pass; each event row gets its
``negatives`` figures (``model_core.metrics.negatives``), stored in the items log like the
rest (so ``--resume`` covers them), and ``report.head_summary`` adds ``"negatives"``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from model_core.errors import InputError
from model_core.evaluation.dataset import EvalSet, EvalVideo, load_eval_set
from model_core.distributed import RankLost
from model_core.evaluation.distributed import Dist, from_env
from model_core.evaluation.options import EvalOptions
from model_core.evaluation.progress import Progress
from model_core.jobs.events import Done
from model_core.evaluation.store import ItemsLog, all_logs, file_digest, log_path, read_logs
from model_core.metrics.items import FAILED, MISSING, ItemResult, score_items, unscored_items


#: Audio embeddings kept for a whole ``--negatives`` run (D = 128 float32: 65536 rows ~32 MB).
RUN_EMBEDDINGS = 65536


@dataclass
class EvalResult:
    """What :func:`run_eval` did (rank 0 has the report; other ranks ``report`` None)."""

    report_path: Path
    report: dict | None
    cancelled: bool
    elapsed_s: float
    videos_done: int = 0
    videos_total: int = 0
    errors: list[str] = field(default_factory=list)


def head_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Short unique names for checkpoints: the file stem, with parent folders added until
    the names differ (``runs/a/best.pt``, ``runs/b/best.pt`` -> ``a/best``, ``b/best``)."""
    parts = [Path(p).with_suffix("").parts for p in paths]
    depth = 1
    while True:
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names) or depth >= max(len(p) for p in parts):
            break
        depth += 1
    seen: dict[str, int] = {}
    out = []
    for n in names:  # the same file given twice
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _device(device: str, dist: Dist) -> str:
    if device == "auto" and dist.enabled:
        import torch

        if torch.cuda.is_available():
            return f"cuda:{dist.local_rank % torch.cuda.device_count()}"
    return device


def open_localizers(checkpoints: Sequence[str | os.PathLike], options: EvalOptions, dist: Dist) -> list:
    """Load the checkpoints (any family: :func:`model_core.models.loading.load_model`; ours
    become Localizers) named by :func:`head_names`."""
    from model_core.models.loading import load_model

    locs = []
    for path, name in zip(checkpoints, head_names(checkpoints)):
        loc = load_model(path, device=_device(options.device, dist), family=options.model_family,
                         batch_size=options.batch_size, threads=options.threads, backend=options.backend,
                         precision=options.precision)
        loc.name = name
        loc.fingerprint = file_digest(path)
        locs.append(loc)
    return locs


def evaluate_video(locs: Sequence, video: EvalVideo, threshold: str | float | None = None,
                   cancel: Callable[[], bool] | None = None,
                   localize: Callable | None = None, negatives=None,
                   decoding=None, maps_done: Callable[[], None] | None = None,
                   audio=None, audio_hop="cell") -> list[ItemResult] | None:
    """Every head's rows for one video; None if cancelled part-way (nothing recorded).

    ``localize`` is ``model_core.inference.localize_many`` (injectable for tests);
    ``negatives`` (NegativeOptions, OffscreenPicker, EmbeddingCache of the run) for
    ``--negatives``: the cache outlives the video, so an off-screen window (another
    video's own window) goes through each audio trunk once per run. ``decoding``: this
    video's :func:`~model_core.inference.pipeline.decode_ahead`, started while the previous
    video was in the models (closed here in every case). ``maps_done`` is called once the
    maps are made, before they are scored (``run_eval`` then starts the next decoding).
    """
    segs = list(video.segments)
    n = len(segs)
    names, cats = [video.name] * n, [video.category] * n
    if video.path is None:
        if decoding is not None:
            decoding.close()
        return [r for loc in locs for r in unscored_items(
            segs, videos=names, head=loc.name, status=MISSING, error="video file not found",
            categories=cats)]
    if localize is None:
        from model_core.inference import localize_many

        localize = localize_many
    try:
        kw: dict[str, Any] = {}
        records: dict[str, list[dict]] = {}
        if negatives is not None:
            from model_core.evaluation.negatives import negative_sources

            kw["negatives"], records = negative_sources(video, negatives[1], negatives[0])
            kw["embeddings"] = negatives[2]
        if decoding is not None:
            kw["decoding"] = decoding
        if audio is not None:  # --audio-stream
            kw["audio"] = audio
        if audio_hop != "cell":  # --protocol: a window centred on every scored frame
            kw["audio_hop"] = audio_hop
        res = localize(locs, video.path, [s.frame_time for s in segs], cancel=cancel, **kw)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of one video is that video's row
        why = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        return [r for loc in locs for r in unscored_items(
            segs, videos=names, head=loc.name, status=FAILED, error=why[:500], categories=cats)]
    if maps_done is not None:
        maps_done()
    rows: list[ItemResult] = []
    for loc in locs:
        vm = res[loc.name]
        if vm.cancelled:
            return None
        if len(vm.times) != n:
            rows += unscored_items(segs, videos=names, head=loc.name, status=FAILED,
                                   error=f"{len(vm.times)} maps for {n} frame times", categories=cats)
            continue
        crop = crop_fractions(loc, video.path)
        scored = score_items(vm.maps, segs, videos=names, head=loc.name, times=vm.times,
                             categories=cats, p_avc=vm.p_avc, class_probs=vm.class_probs,
                             classes=loc.classes, threshold=threshold,
                             silent_audio=[vm.silent_audio] * n, map_kind=loc.map_kind, tau=loc.tau,
                             crop=crop)
        if negatives is not None:
            _add_negatives(scored, segs, vm, threshold, records, loc, crop)
        rows += scored
    return rows


def crop_fractions(loc, path) -> tuple[float, float, float, float] | None:
    """The part of ``path``'s frames ``loc``'s maps cover, in fractions of the frame
    (``MapModel.crop`` of the frame as shown), or None for the whole frame (our heads and
    every squashing family: no probe needed)."""
    whole = loc.crop(1000, 1000)
    if tuple(whole) == (0.0, 0.0, 1000.0, 1000.0) and tuple(loc.crop(1000, 500)) == (0.0, 0.0, 1000.0, 500.0):
        return None
    from model_core.media.probe import probe

    info = probe(path, rotation=True)
    w, h = int(info.width), int(info.height)
    x0, y0, x1, y1 = loc.crop(w, h)
    return (x0 / w, y0 / h, x1 / w, y1 / h)


def sweep_table(items: Sequence[ItemResult], videos: Sequence, locs: Sequence) -> dict[str, Any]:
    """``--threshold sweep``: per head, cIoU at every fixed threshold of
    :data:`~model_core.metrics.threshold.SWEEP_LEVELS` on the absolute [0, 1] map (the
    items' stored maps, placed on the frame as scored), over the scored event items:
    ``{head: {"n_items", "mean_ciou": {T: ...}, "ciou@0.5": {T: ...}}}``."""
    import numpy as np

    from model_core.metrics.items import decode_map
    from model_core.metrics.localization import SUCCESS_CIOU, ciou
    from model_core.metrics.masks import gt_map, place_maps
    from model_core.metrics.threshold import SWEEP_LEVELS

    segs = {(v.name, s.start, s.end): s for v in videos for s in v.segments}
    paths = {v.name: v.path for v in videos}
    levels = np.asarray(SWEEP_LEVELS, np.float32)
    out: dict[str, Any] = {}
    for loc in locs:
        crops: dict = {}
        rows = []
        for it in items:
            seg = segs.get((it.video, it.start, it.end))
            if it.head != loc.name or it.ciou is None or it.map is None or seg is None:
                continue
            if it.video not in crops:
                crops[it.video] = crop_fractions(loc, paths[it.video])
            big = place_maps(decode_map(it.map)[None], crops[it.video])[0]
            gt = gt_map(seg)
            rows.append(ciou(big[None] > levels[:, None, None], np.broadcast_to(gt, (len(levels), *gt.shape))))
        c = np.asarray(rows, np.float64).reshape(-1, len(levels))
        key = [f"{t:g}" for t in SWEEP_LEVELS]
        out[loc.name] = {"n_items": int(len(c)),
                         "mean_ciou": {k: (float(c[:, i].mean()) if len(c) else None) for i, k in enumerate(key)},
                         "ciou@0.5": {k: (float((c[:, i] >= SUCCESS_CIOU).mean()) if len(c) else None)
                                      for i, k in enumerate(key)}}
    return out


def _add_negatives(rows: list[ItemResult], segs, vm, threshold, records, loc=None, crop=None) -> None:
    """Each scored event row's figures under every negative audio (SPEC 5), on the maps'
    absolute scale placed on the frame (as :func:`score_items` scores them)."""
    import numpy as np

    from model_core.metrics.masks import absolute_maps, gt_map, place_maps
    from model_core.metrics.negatives import item_negatives

    def placed(maps):
        if loc is None:
            return maps
        return place_maps(absolute_maps(maps, loc.map_kind, loc.tau), crop)

    gt = np.stack([gt_map(s) for s in segs])
    per_item = item_negatives(placed(vm.maps), {k: placed(v["maps"]) for k, v in vm.negatives.items()},
                              {k: v["p_avc"] for k, v in vm.negatives.items()}, threshold, gt, records)
    for row, seg, neg in zip(rows, segs, per_item):
        if seg.event and row.status == "scored":
            row.negatives = neg


def _on_accelerator(locs) -> bool:
    return bool(locs) and all(str(loc.device) != "cpu" for loc in locs)


class _DecodeAhead:
    """The next videos' decoding, started while this one is still being worked on.

    A video of ten 1 s segments is a single batch, so inside :func:`localize_many` the
    models wait for each video's opening, decoding and audio reads. When to start the next
    one (``mode``):

    - ``"models"``: before this video goes through the models, ``depth`` videos at once
      (one per free core, :func:`_ahead_depth`: a sparse reader decodes on one thread, so
      the cores work on several videos rather than on the frames of one). On an
      accelerator the cores are idle while the device computes. On the CPU the decoding
      takes the trunks' cores instead, and the convolutions slow by what the wait saved
      (``benchmarks/bench_eval.py``, ``decode_ahead_vs_default_1head``; figures in
      ``benchmarks/README.md``).
    - ``"scoring"`` (the CPU default): once this video's maps are made, so the decoder
      (one thread: ``VideoReader(sparse=True)``) runs beside the scoring, the items log and
      the progress line (one thread too), and the trunks never share their cores: a little
      faster than never decoding ahead (``serial_vs_default_1head``, figures in
      ``benchmarks/README.md``).
    - ``None``: never (``--negatives``: their sources are made per video; an injected
      ``localize``).
    """

    def __init__(self, locs, mode: str | None, depth: int = 1):
        if mode not in (None, "models", "scoring"):
            raise ValueError(f"decode_ahead must be 'models', 'scoring' or off, got {mode!r}")
        self.locs, self.mode = locs, mode
        #: videos decoding at once, each in its own thread with one decoder thread
        #: (sparse reading): parallel across videos, not across the frames of one
        self.depth = max(1, int(depth)) if mode == "models" else 1
        self.pending: dict = {}   # video name -> Decoding, in the order started
        self.audio: Any = None    # EvalOptions.own_audio(): --audio-stream
        # the engine's default 1 s cells, or --protocol's hop (None: per frame)
        self.audio_hop: str | float | None = "cell"

    def start(self, following: Sequence, when: str) -> None:
        """Start the decoding of the videos ``following`` (the next ``depth`` after the
        current one) not started yet, if ``when`` is this run's moment for it."""
        if self.mode != when:
            return
        from model_core.inference.pipeline import decode_ahead

        for video in following:
            if video.path is not None and video.name not in self.pending:
                self.pending[video.name] = decode_ahead(self.locs, video.path,
                                                        [s.frame_time for s in video.segments],
                                                        audio=self.audio,
                                                        **({} if self.audio_hop == "cell"
                                                           else {"audio_hop": self.audio_hop}))

    def take(self, video):
        """The decoding started for ``video``, or None; those started for videos before it
        (not taken: skipped) are closed."""
        if video.name not in self.pending:
            return None
        while True:
            name = next(iter(self.pending))
            decoding = self.pending.pop(name)
            if name == video.name:
                return decoding
            decoding.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        for decoding in self.pending.values():
            decoding.close()
        self.pending = {}


def _ahead_depth() -> int:
    """Videos decoded at once ahead of an accelerator: one per usable core but the one
    that drives the device, at most :data:`AHEAD_VIDEOS_MAX`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(AHEAD_VIDEOS_MAX, cores - 1))


#: most videos decoded at once ahead of the models (memory: a few batches of frames each)
AHEAD_VIDEOS_MAX = 8


def _fingerprint(evalset: EvalSet, locs: Sequence, options: EvalOptions) -> dict[str, Any]:
    return {"checkpoints": [[loc.name, loc.fingerprint] for loc in locs],
            "annotations": [str(evalset.annotations.resolve()), file_digest(evalset.annotations)],
            "mode": evalset.mode, "split": options.split, "threshold": options.threshold,
            **({"negatives": neg.record()} if (neg := options.negative_options()) else {}),
            **({"audio_stream": options.audio_stream} if options.audio_stream is not None else {}),
            **({"protocol": options.protocol} if options.protocol is not None else {})}


def run_eval(data: str | os.PathLike, checkpoints: Sequence[str | os.PathLike], out: str | os.PathLike,
             options: EvalOptions | None = None, *, cancel: Callable[[], bool] | None = None,
             localizers: Sequence | None = None, localize: Callable | None = None,
             dist: Dist | None = None, err=None, stdout=None, decode_ahead: bool | str | None = None) -> EvalResult:
    """Evaluate ``checkpoints`` on DATA and write the report ``out`` (see module docstring).

    Parameters
    ----------
    localizers, localize : already-built localizers and the ``localize_many`` to call
        (tests pass fakes); by default the checkpoints are loaded.
    dist : the process group (default: joined from torchrun's environment).
    err, stdout : streams for human progress and JSON lines (default stderr / stdout).
    decode_ahead : when to start decoding the next video (:class:`_DecodeAhead`):
        ``"models"`` (or True) while this one is in the models, ``"scoring"`` once its maps
        are made, False never; default ``"models"`` on an accelerator, ``"scoring"`` on the
        CPU, never with an injected ``localize``.
    """
    from model_core.metrics.meta import run_meta
    from model_core.metrics.report import build_report, write_report

    options = options or EvalOptions()
    t0 = time.monotonic()
    own_dist = dist is None
    dist = from_env() if dist is None else dist
    try:
        evalset = load_eval_set(data, options.annotations, options.videos, options.split)
        locs = list(localizers) if localizers is not None else open_localizers(checkpoints, options, dist)
        videos = list(evalset.videos[:options.limit] if options.limit else evalset.videos)
        negatives = None
        negative_options = options.negative_options()
        if negative_options:
            from model_core.evaluation.negatives import OffscreenPicker

            picker = OffscreenPicker(evalset.videos, negative_options.seed, evalset.annotations)
            picker.check(videos)          # a clear error before any work
            from model_core.inference.engine import EmbeddingCache

            negatives = (negative_options, picker, EmbeddingCache(RUN_EMBEDDINGS))
        shard = dist.shard(videos)
        header = {"kind": "header", "fingerprint": _fingerprint(evalset, locs, options)}
        out = Path(out)
        if options.resume:
            done = read_logs(all_logs(out), header)
        else:
            done = {}
            if dist.is_main:
                for p in all_logs(out):
                    p.unlink()
        dist.barrier()        # nobody truncates a log another rank is still reading
        progress = Progress(len(shard), jsonl=options.jsonl and dist.is_main, quiet=not dist.is_main,
                            err=err, out=stdout,
                            label="eval" if not dist.enabled else f"eval[rank {dist.rank}]")
        todo = [v for v in shard if v.name not in done]
        progress.resumed(len(shard) - len(todo), sum(len(done[v.name]) for v in shard if v.name in done))
        own_log = log_path(out, dist.rank if dist.enabled else None)
        cancelled = False
        errors: list[str] = []
        if decode_ahead is None:
            decode_ahead = None if localize is not None else "models" if _on_accelerator(locs) else "scoring"
        elif decode_ahead is True:
            decode_ahead = "models"
        ahead = _DecodeAhead(locs, (decode_ahead or None) if negatives is None else None, _ahead_depth())
        ahead.audio = options.own_audio()
        if options.protocol is not None:
            from model_core.evaluation.protocols import protocol

            ahead.audio_hop = protocol(options.protocol).audio_hop
        with ItemsLog(own_log, header, resume=options.resume) as log, ahead:
            for i, video in enumerate(todo):
                if cancel is not None and cancel():
                    cancelled = True
                    break
                decoding = ahead.take(video)
                following = todo[i + 1:i + 1 + ahead.depth]
                ahead.start(following, "models")
                rows = evaluate_video(locs, video, options.threshold, cancel, localize, negatives, decoding,
                                      maps_done=lambda: ahead.start(following, "scoring"),
                                      audio=ahead.audio, audio_hop=ahead.audio_hop)
                if rows is None:
                    cancelled = True
                    break
                row_dicts = [r.to_row() for r in rows]
                log.append_video(video.name, row_dicts)
                bad = next((r for r in rows if r.status != "scored"), None)
                if bad is not None:
                    msg = f"{video.name}: {bad.status}: {bad.error}"
                    errors.append(msg)
                    progress.failed(video.name, bad.status, bad.error)
                progress.rows(row_dicts)
                progress.advance(video.name, len(rows))
        # merge: every rank's own rows go to rank 0, which also reads the logs it can see
        mine = read_logs([own_log])
        lost = None
        try:
            gathered = dist.gather({"rows": mine, "cancelled": cancelled, "errors": errors})
        except RankLost as exc:
            # a rank died (kill -9, out of memory; torchrun then sends the others SIGTERM):
            # report what this rank can read, as a SIGTERM'd single run does. Rank 0 writes;
            # of two ranks, rank 1 writes too, since its only peer, rank 0, may be the dead one
            lost = str(exc)
            if dist.is_main:
                progress.warn(lost)
            else:                     # a quiet rank: this one line is still its to say
                import sys

                print(f"rank {dist.rank}: {lost}", file=err or sys.stderr, flush=True)
            gathered = [{"rows": mine, "cancelled": cancelled, "errors": errors}]
        if not dist.is_main and not (lost and dist.world == 2):
            return EvalResult(out, None, cancelled or bool(lost), time.monotonic() - t0,
                              len(shard) - len(todo), len(shard), errors)
        merged = read_logs(all_logs(out))
        for g in gathered:
            merged.update(g["rows"])
        cancelled = any(g["cancelled"] for g in gathered)
        errors = [e for g in gathered for e in g["errors"]]
        # a video is done only when the log holds rows of every head of this run (a log
        # another run wrote, with other heads, does not count)
        names = {loc.name for loc in locs}
        merged = {v: rows for v, rows in merged.items() if names <= {r.get("head") for r in rows}}
        n_done = sum(1 for v in videos if v.name in merged)
        if lost and n_done < len(videos):
            cancelled = True          # exits as a cancelled run does: --resume finishes it
        items = [ItemResult.from_row(r) for v in videos if v.name in merged for r in merged[v.name]]
        notes = list(evalset.notes)
        if n_done < len(videos):
            notes.append(f"incomplete: {n_done} of {len(videos)} videos evaluated "
                         f"({'cancelled' if cancelled and not lost else 'interrupted'}); rerun with --resume")
        if lost:
            notes.append(f"{lost}: this report holds the videos in the items logs rank {dist.rank} could "
                         f"read; rerun with --resume to finish")
        for loc in locs:
            theirs = list(loc.classes)
            unknown = [c for c in evalset.classes if c not in theirs]
            if theirs and unknown:
                notes.append(f"{loc.name}: the checkpoint knows {len(theirs)} classes, the data has "
                             f"{len(evalset.classes)} ({len(unknown)} unknown to it, e.g. "
                             f"{unknown[0]!r}): classification accuracy is not scored for those")
        if options.limit:
            notes.append(f"--limit {options.limit}: first {len(videos)} of {len(evalset.videos)} videos")
        meta = run_meta(
            command="eval", data=os.fspath(data), annotations=str(evalset.annotations.resolve()),
            mode=evalset.mode, split=options.split,
            checkpoints=[{"name": loc.name, "path": os.path.abspath(os.fspath(p)) if p else None,
                          "head": loc.head, "sha256": loc.fingerprint,
                          "classes": len(loc.classes), "family": loc.family, "map_kind": loc.map_kind,
                          "tau": loc.tau, "audio_window_s": loc.audio_window_s,
                          "backend": loc.backend_used, "precision": loc.precision}
                         for loc, p in zip(locs, list(checkpoints) + [None] * len(locs))],
            device=str(locs[0].device) if locs else options.device,
            batch_size=options.batch_size, world_size=dist.world, threshold=options.threshold,
            complete=n_done == len(videos), videos_total=len(videos), videos_done=n_done,
            elapsed_s=round(time.monotonic() - t0, 2), warnings=list(evalset.warnings))
        from model_core.media.audio import stream_notes
        from model_core.metrics.threshold import SWEEP, canonical

        if canonical(options.threshold) == SWEEP:
            meta["sweep"] = sweep_table(items, videos, locs)
        if options.protocol is not None:
            from model_core.evaluation.protocols import PROTOCOLS

            meta["protocol"] = PROTOCOLS[options.protocol].record()

        meta["audio_stream"] = "first not silent" if options.audio_stream is None else options.audio_stream
        notes += stream_notes([v.path for v in videos if v.name in merged and v.path is not None],
                              options.audio_stream)
        if negative_options:
            meta["negatives"] = negative_options.record()
            assert negatives is not None            # made above whenever negative_options
            meta["negatives"]["videos_without_sound"] = negatives[1].without_sound
            note = negatives[1].report_note()
            if note:
                notes.append(note)
            if any(loc.head == "cls" for loc in locs):
                notes.append("negatives: the cls head never trains the bias b of Z = w S + b (softmax "
                             "ignores it), so its p_avc is uncalibrated: compare its negatives by "
                             "ROC-AUC, not by false alarm")
        report = build_report(items, [loc.name for loc in locs], meta, notes)
        try:
            write_report(out, report, options.csv)
        except OSError as exc:
            raise InputError(exc.filename or out, f"cannot write: {exc.strerror or exc}") from None
        progress.emit(Done(report=os.fspath(out)))
        return EvalResult(out, report, cancelled, time.monotonic() - t0, n_done, len(videos), errors)
    finally:
        if own_dist:
            dist.close()
