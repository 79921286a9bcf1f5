"""The trainer: AdamW + warm-up/cosine, seeded, exactly resumable, optionally distributed.

A run, in order: read the folder (:mod:`.dataset`), make sure the feature cache holds every
video (:mod:`.feature_cache`; under torchrun each rank builds a shard), build the model
with the same seed on every rank (identical weights) and reseed with seed + rank, then
step. Everything random in a step (the data order, the AVC negatives, the flips) is a pure
function of (seed, epoch or step, rank), like the learning rate, so resuming at step k
draws what the uninterrupted run drew; the ``last`` checkpoint adds the optimizer, scaler,
the global RNG states of every rank and the running sums of the epoch, written every
``save_every`` steps and at each epoch's end. A step's loss and metrics stay on the device
until the next logging step (``log_every``, an epoch's end, a save), where the pending steps
are read in one transfer, as nanoGPT does: a read per step would make the host wait for the
GPU every step. The finiteness check is made there too, so a diverged loss stops the run at
the next logging step, naming the step it first appeared at. Progress goes to callbacks as
the job protocol's events (:mod:`model_core.jobs.events`: ``Start``, ``Progress`` of the
feature cache, ``Step``, ``Epoch``, ``Log``, ``Done``), which the CLI's sinks print for a person
or as JSON lines for the GUI; only rank 0 emits and writes.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import nn

from model_core.errors import InputError
from model_core.jobs.events import Done, Epoch, Event, Log, Progress, Start, Step
from model_core.device import amp_dtype, autocast, resolve_device
from model_core.model import ModelConfig, build_model, head_loss, pick_negatives
from model_core.model.checkpoint import load_checkpoint, save_checkpoint
from model_core.train import distributed as D
from model_core.train.batches import SegmentStore
from model_core.train.dataset import TrainingData, check_training_set, load_training_data
from model_core.train.feature_cache import FeatureCache, build_entries
from model_core.train.options import TrainOptions, check_model_settings, complete_model_settings
from model_core.train.schedule import default_warmup, lr_at
from model_core.train.state import rng_state, seed_everything, set_rng_state, step_generator
from model_core.train.validate import validate

Callback = Callable[[Event], None]
PARTS = ("loss", "l_avc", "l_cls", "avc_acc", "cls_acc")


def read_scalars(values: list[torch.Tensor]) -> list[float]:
    """0-d tensors as Python floats, in one device-to-host transfer (one sync on a GPU).

    The loop's only read of step results: a test counts its calls to prove there is no
    read per step. ``float32`` values come out exactly as ``float(t)`` would give them."""
    if not values:
        return []
    return torch.stack([v.detach().float() for v in values]).tolist()


class _StepModule(nn.Module):
    """Both trunks and the head's loss in one forward, so DDP sees every parameter used."""

    def __init__(self, model: nn.Module, head: str, lam: float):
        super().__init__()
        self.model, self.head, self.lam = model, head, lam

    def forward(self, frames, mels, labels, negatives):
        V, a = self.model.visual(frames), self.model.audio(mels)
        return head_loss(self.model, V, a, labels, self.head, negatives=negatives, lam=self.lam)


def _resolve_device(name: str) -> torch.device:
    """``--device``: the one resolver (``model_core.device``) that inference uses."""
    return resolve_device(name or "auto")


class Trainer:
    """One training run. ``Trainer(options, callbacks).run()`` returns the summary dict
    saved in the checkpoint (``stopped`` True when ``stop_after_steps`` cut it short)."""

    # the run's state, set by _run (and by _try_resume when resuming)
    resumed_from: int | None
    best: dict[str, Any] | None
    _pending: list[tuple[int, dict[str, torch.Tensor], float]]   # steps not read yet: (step, parts, lr)

    def __init__(self, options: TrainOptions, callbacks: Iterable[Callback] = ()):
        problems = options.problems()
        if problems:
            raise InputError(None, "; ".join(problems))
        check_model_settings(options.model)
        options.model = complete_model_settings(options.model)
        self.opts = options
        self.callbacks = list(callbacks)

    # -- events -----------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.info.is_main:
            for cb in self.callbacks:
                cb(event)

    def log(self, text: str, level: str = "info") -> None:
        self.emit(Log(text=text, level=level))

    # -- setup ------------------------------------------------------------------------
    def _prepare_data(self) -> None:
        o = self.opts
        data: TrainingData = load_training_data(o.data)
        self.data = data
        for w in data.warnings:
            self.log(w, "warning")
        said = check_training_set(data, o.head, o.select_best)   # before decoding anything
        for w in said:
            self.log(w, "warning")
        used = sorted({i for s in ("train", "val") for i in data.split_videos(s)})
        mine = used[self.info.rank::self.info.world_size]
        cache = FeatureCache(o.cache_dir, ModelConfig(num_classes=1, **o.model).image_size)
        self.emit(Progress(stage="cache", done=0, total=len(mine), folder=str(cache.folder)))
        keys, failures = build_entries(
            cache, [data.videos[i].path for i in mine], workers=o.workers,
            progress=lambda d, t, name: self.emit(Progress(stage="cache", done=d, total=t, video=name)))
        gathered = D.all_gather_objects(self.info, (dict(zip(mine, keys)), failures))
        key_of: dict[int, str | None] = {}
        for part, fails in gathered:
            key_of.update(part)
            for name, why in fails.items():
                self.log(f"{name}: cannot decode ({why}); left out", "warning")
        self.store = SegmentStore([cache.open(key) if (key := key_of.get(i)) else None
                                   for i in range(len(data.videos))])
        mute = [data.videos[i].file for i in used
                if (entry := self.store.entries[i]) is not None and not entry.has_audio]
        if mute:
            self.log(f"{len(mute)} video(s) without a sound track, trained on silence (SPEC 4): "
                     f"{', '.join(mute[:10])}{' ...' if len(mute) > 10 else ''}", "warning")
        self.train_items, dropped = self.store.filter(data.positives("train"))
        if dropped:
            self.log(f"{dropped} train segment(s) without a decodable frame left out", "warning")
        self.val_items, dropped = self.store.filter(data.positives("val"))
        if dropped:
            self.log(f"{dropped} val segment(s) without a decodable frame left out", "warning")
        if not self.train_items:
            raise InputError(o.data, "no train segment could be decoded")
        for w in check_training_set(data, o.head, o.select_best, self.train_items, self.val_items):
            if w not in said:   # what decoding failures made degenerate
                self.log(w, "warning")
        if o.val_limit is not None and len(self.val_items) > o.val_limit:
            # one fixed subset (seed independent of --seed): every run validates on the same items
            import numpy as np

            keep = np.sort(np.random.default_rng(20240).permutation(len(self.val_items))[:o.val_limit])
            self.val_items = [self.val_items[i] for i in keep]
        self.val_segments = [data.box_segment(it) for it in self.val_items]
        if o.absent_negatives or o.swap_silent > 0:
            from model_core.train.pairs import visible_classes

            self.train_visible = visible_classes(data, self.train_items)
            self.by_class: dict[int, list] = {}
            for it in self.train_items:
                self.by_class.setdefault(it.label, []).append(it)

    def _build_model(self) -> None:
        o, info = self.opts, self.info
        self.config = ModelConfig(num_classes=len(self.data.classes), **o.model)
        seed_everything(o.seed)  # the same initial weights on every rank
        model = build_model(self.config, o.visual_init).to(info.device)
        seed_everything(o.seed + info.rank)
        self.cuda = info.device.type == "cuda"
        if self.cuda:
            model = model.to(memory_format=torch.channels_last)
        self.amp_dtype = amp_dtype(info.device)  # the one AMP rule: bf16/fp16 on CUDA, fp32 on the CPU
        self.model = model
        decay = [p for p in model.parameters() if p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.ndim <= 1]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        step_module: nn.Module = _StepModule(model, o.head, o.lam)
        if info.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            step_module = DDP(step_module, device_ids=[info.local_rank] if self.cuda else None,
                              find_unused_parameters=o.head == "avc")  # avc: classifier unused
        self.step_module = step_module

    def _autocast(self):
        return autocast(self.info.device, self.amp_dtype)

    def _schedule(self) -> None:
        from torch.utils.data.distributed import DistributedSampler

        o, info = self.opts, self.info
        # the sampler needs only the length of what it samples: the item indices
        self.sampler: DistributedSampler[int] = DistributedSampler(
            range(len(self.train_items)), num_replicas=info.world_size,  # type: ignore[arg-type]
            rank=info.rank, shuffle=True, seed=o.seed, drop_last=True)
        per_rank = len(self.sampler)
        self.batch = min(o.batch_size, per_rank)
        if self.batch < o.batch_size:
            self.log(f"only {per_rank} train segments per process: batch size {self.batch} "
                     f"instead of {o.batch_size}", "warning")
        if self.batch < 2 and o.head in ("avc", "dnm"):
            raise InputError(o.data, f"{per_rank} train segment(s) per process: too few for AVC negatives")
        self.steps_per_epoch = per_rank // self.batch
        self.total_steps = o.epochs * self.steps_per_epoch
        self.warmup = o.warmup_steps if o.warmup_steps is not None else default_warmup(self.total_steps)

    # -- resumable state ------------------------------------------------------------------
    def _fingerprint(self) -> dict[str, Any]:
        return {**self.opts.run_settings(), "classes": list(self.data.classes),
                "train_items": len(self.train_items), "world_size": self.info.world_size}

    def _save_last(self) -> None:
        self._flush()   # the sums saved must hold every step taken (and no diverged weights saved)
        per_rank = D.all_gather_objects(self.info, {"rng": rng_state(), "sums": dict(self.sums)})
        if not self.info.is_main:
            return
        state = {"step": self.step, "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict(), "ranks": per_rank, "history": self.history,
                 "seconds": self.seconds(), "samples": self.samples, "settings": self._fingerprint(),
                 "best": self.best}
        save_checkpoint(self.opts.last_path, self.model, self.config, list(self.data.classes),
                        self.opts.head, self.summary(partial=True), train_state=state)

    def _try_resume(self) -> None:
        o, last = self.opts, self.opts.last_path
        if not o.resume:
            if last.exists():
                self.log(f"{last} exists but --resume was not given: starting afresh (it will be overwritten)")
            return
        if not last.exists():
            self.log(f"--resume: nothing to resume ({last} does not exist); starting afresh")
            return
        ck = load_checkpoint(last, with_train_state=True)
        ts = ck.train_state
        if not isinstance(ts, dict) or "step" not in ts:
            raise InputError(last, "holds no training state to resume from")
        saved, now = ts.get("settings", {}), self._fingerprint()
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        if diff:
            detail = ", ".join(f"{k}: {saved.get(k)!r} then, {now.get(k)!r} now" for k in diff)
            raise InputError(last, f"cannot resume with other settings ({detail}); use the same "
                                   f"options or drop --resume")
        self.model.load_state_dict(ck.state_dict)
        self.optimizer.load_state_dict(ts["optimizer"])
        self.scaler.load_state_dict(ts["scaler"])
        self.step, self.history = int(ts["step"]), list(ts["history"])
        self.samples, self._seconds_before = int(ts["samples"]), float(ts["seconds"])
        mine = ts["ranks"][self.info.rank]
        self.sums = dict(mine["sums"])
        self.best = ts.get("best")
        set_rng_state(mine["rng"])
        self.resumed_from = self.step
        self.log(f"resuming from {last} at step {self.step} of {self.total_steps}")

    # -- summary ------------------------------------------------------------------------
    def seconds(self) -> float:
        return self._seconds_before + (time.perf_counter() - self._t0)

    def summary(self, partial: bool = False) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        return {"data": str(Path(self.opts.data).resolve()), "head": self.opts.head,
                "epochs": self.opts.epochs, "epochs_done": len(self.history), "steps": self.step,
                "samples": self.samples, "train": last.get("train", {}), "val": last.get("val", {}),
                "history": self.history, "seconds": round(self.seconds(), 3),
                "device": str(self.info.device), "world_size": self.info.world_size,
                "torch": str(torch.__version__), "seed": self.opts.seed, "batch_size": self.batch,
                "lr": self.opts.lr, "lambda": self.opts.lam, "finished": not partial,
                "train_segments": len(self.train_items), "val_segments": len(self.val_items),
                "options": self.opts.run_settings(),
                "command": " ".join(self.opts.command or sys.argv)}

    # -- the loop -------------------------------------------------------------------------
    def _train_step(self, idx: list[int]) -> tuple[dict[str, torch.Tensor], float]:
        o = self.opts
        lr = lr_at(self.step, o.lr, self.total_steps, self.warmup, o.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        g = step_generator(o.seed, self.info.rank, self.step)
        flip = torch.rand(len(idx), generator=g) < 0.5 if o.flip else None
        items = [self.train_items[i] for i in idx]
        audio_items = None
        if o.swap_silent > 0 or o.absent_negatives:
            from model_core.train import pairs

            visible = [self.train_visible[i] for i in idx]
        if o.swap_silent > 0:
            audio_items, swapped = pairs.swap_silent(items, visible, self.by_class, o.swap_silent, g)
        frames, mels, labels = self.store.batch(items, flip, audio_items=audio_items)
        if audio_items is not None:
            labels = torch.tensor(swapped, dtype=torch.long)
        if o.crop_scale < 1.0:
            from model_core.train.augment import random_crops

            frames = random_crops(frames, o.crop_scale, g)
        if o.absent_negatives:
            negatives = pairs.pick_absent_negatives(
                pairs.visible_mask(visible, len(self.data.classes)), labels, generator=g)
        else:
            negatives = pick_negatives(labels, len(idx), generator=g)
        dev = self.info.device
        frames, mels, labels = frames.to(dev, non_blocking=True), mels.to(dev), labels.to(dev)
        frames = frames.contiguous(memory_format=torch.channels_last if self.cuda else torch.contiguous_format)
        with self._autocast():
            out = self.step_module(frames, mels, labels, negatives)
        loss = out["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        grad_norm = None
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
            if o.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)   # clip the true gradients, not the scaled ones
                grad_norm = self._clip_gradients()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if o.grad_clip is not None:
                grad_norm = self._clip_gradients()
            self.optimizer.step()
        # still on the device: read at the next logging step (_flush), not here
        parts = {k: out[k].detach() for k in PARTS if k in out}
        if grad_norm is not None:
            parts["grad_norm"] = grad_norm   # before clipping: how often the clip acts
        return parts, lr

    def _clip_gradients(self) -> torch.Tensor:
        """Scale the gradients so that their global L2 norm is at most ``--grad-clip``;
        the norm before clipping, as a device tensor (no sync: clip_grad_norm_ only checks
        finiteness when asked to)."""
        max_norm = self.opts.grad_clip
        assert max_norm is not None           # called only with --grad-clip
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm).detach()

    def _flush(self) -> dict[str, float]:
        """Read the steps taken since the last read, add them to the epoch's running sums
        in step order (the same float sums as a read per step, so resume stays exact), and
        return the last step's values. A non-finite loss stops the run here, naming the
        first step it appeared at."""
        pending, self._pending = self._pending, []
        if not pending:
            return {}
        flat = read_scalars([v for _, parts, _ in pending for v in parts.values()])
        first, last = pending[0][0], pending[-1][0]
        at, values = 0, {}
        for step, parts, lr in pending:
            values = dict(zip(parts, flat[at:at + len(parts)]))
            at += len(parts)
            loss = values.get("loss", 0.0)
            if not math.isfinite(loss):
                span = f"step {first}" if first == last else f"steps {first}-{last}"
                raise InputError(None, f"training diverged: the loss became {loss} at step {step} "
                                       f"(of {span}, read at once every --log-every "
                                       f"{self.opts.log_every}); try a lower --lr or --grad-clip")
            for k, v in values.items():
                self.sums[k] = self.sums.get(k, 0.0) + v
            self.sums["steps"] = self.sums.get("steps", 0.0) + 1
            values["lr"] = lr
        return values

    def _validate(self) -> dict[str, float]:
        if not self.val_items:
            return {}
        return validate(self.model, self.store, self.val_items, self.opts.head, device=self.info.device,
                        info=self.info, batch_size=max(self.batch, 32), lam=self.opts.lam,
                        seed=self.opts.seed, autocast=self._autocast if self.amp_dtype else None,
                        channels_last=self.cuda, segments=self.val_segments)

    def _end_epoch(self, epoch: int) -> None:
        o = self.opts
        self._flush()
        sums = D.all_reduce_sums(self.info, self.sums)
        n = max(sums.pop("steps", 0.0), 1.0)
        train = {k: v / n for k, v in sums.items()}
        is_last = epoch + 1 == o.epochs
        val = self._validate() if ((epoch + 1) % o.val_every == 0 or is_last) else {}
        self.history.append({"epoch": epoch + 1, "step": self.step, "train": train, "val": val})
        self._maybe_keep_best(epoch + 1, val)
        self.sums = {}
        self._save_last()
        self.emit(Epoch(epoch=epoch + 1, epochs=o.epochs, step=self.step, train=train, val=val,
                        seconds=round(self.seconds(), 3)))

    def _maybe_keep_best(self, epoch: int, val: dict[str, float]) -> None:
        """Under ``select_best``, write OUT.best.pt when this epoch's metric is the best."""
        metric = self.opts.select_best
        if metric is None or metric not in val:
            return
        value = val[metric] if metric != "loss" else -val[metric]
        if self.best is not None and value <= self.best["value"]:
            return
        self.best = {"epoch": epoch, "value": value, "metric": metric}
        if self.info.is_main:
            save_checkpoint(self.opts.best_path, self.model, self.config, list(self.data.classes),
                            self.opts.head, self.summary(partial=True))

    def _write_final(self, summary: dict[str, Any]) -> None:
        """``--out``: the last weights, or the selected epoch's under ``select_best``."""
        o = self.opts
        model = self.model
        if o.select_best is not None and self.best is not None and o.best_path.exists():
            model = build_model(self.config)
            model.load_state_dict(load_checkpoint(o.best_path).state_dict)
            summary["selected"] = {"by": f"val {o.select_best}", "epoch": self.best["epoch"],
                                   "val": self.history[self.best["epoch"] - 1]["val"]}
        save_checkpoint(o.out, model, self.config, list(self.data.classes), o.head, summary)
        if not o.keep_last:
            o.last_path.unlink(missing_ok=True)
            o.best_path.unlink(missing_ok=True)

    def run(self) -> dict[str, Any]:
        o = self.opts
        device = _resolve_device(o.device)
        self.info = D.init_distributed(device)
        try:
            if o.threads:
                torch.set_num_threads(o.threads)
            return self._run()
        finally:
            # drop the DDP wrapper while the process group still exists: destroying it after
            # destroy_process_group() can hang in its destructor (seen with gloo)
            for name in ("step_module", "optimizer", "scaler"):
                self.__dict__.pop(name, None)
            import gc

            gc.collect()
            D.shutdown()

    def _run(self) -> dict[str, Any]:
        o, info = self.opts, self.info
        self._t0, self._seconds_before = time.perf_counter(), 0.0
        self.step, self.samples, self.history, self.sums, self.resumed_from = 0, 0, [], {}, None
        self._pending = []
        self.best = None
        self._prepare_data()
        self._build_model()
        self._schedule()
        self._try_resume()
        self.emit(Start(head=o.head, epochs=o.epochs, steps_per_epoch=self.steps_per_epoch,
                        total_steps=self.total_steps, step=self.step, batch_size=self.batch,
                        train_segments=len(self.train_items), val_segments=len(self.val_items),
                        classes=list(self.data.classes), device=str(info.device),
                        world_size=info.world_size, resumed_from=self.resumed_from, out=str(o.out)))
        self.model.train()
        tick, tick_samples = time.perf_counter(), 0
        while self.step < self.total_steps:
            epoch, offset = divmod(self.step, self.steps_per_epoch)
            self.sampler.set_epoch(epoch)
            order = list(self.sampler)
            for b in range(offset, self.steps_per_epoch):
                parts, lr = self._train_step(order[b * self.batch:(b + 1) * self.batch])
                self.step += 1
                self._pending.append((self.step, parts, lr))
                self.samples += self.batch * info.world_size
                tick_samples += self.batch * info.world_size
                if self.step % o.log_every == 0 or b + 1 == self.steps_per_epoch:
                    last = self._flush()
                    now = time.perf_counter()
                    self.emit(Step(epoch=epoch + 1, step=self.step, total_steps=self.total_steps,
                                   samples_per_s=round(tick_samples / max(now - tick, 1e-9), 2), **last))
                    tick, tick_samples = now, 0
                if o.stop_after_steps is not None and self.step >= o.stop_after_steps:
                    self._flush()
                    self.log(f"stopped after step {self.step} (--stop-after-steps), as if killed")
                    return {**self.summary(partial=True), "stopped": True}
                if self.step % o.save_every == 0 and b + 1 < self.steps_per_epoch:
                    self._save_last()
            self._end_epoch(epoch)
        summary = self.summary()
        if info.is_main:
            self._write_final(summary)
        self.emit(Done(out=str(o.out), steps=self.step, epochs=o.epochs, samples=self.samples,
                       seconds=summary["seconds"], train=summary["train"], val=summary["val"]))
        return summary
