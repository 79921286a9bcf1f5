"""What every published family shares: the family description (:class:`Family`, also the
base class of a plugin's family) and the one :class:`~model_core.models.protocol.MapModel`
implementation that runs a family's network (:class:`FamilyModel`).

A family's network (an ``nn.Module`` built by :meth:`Family.build_net`) has three steps,
as our DNM: ``audio(spec) -> emb`` (one row per audio window), ``visual(img) -> V`` (the
visual trunk, once per frame) and ``read(V, emb) -> maps`` (the cheap audio-visual
read-out, repeated per audio); :class:`FamilyModel` adds the family's preprocessing around
them, batching, the device, ``torch.inference_mode`` and the inference backend that runs
the visual and audio steps (:mod:`model_core.inference.backends`).

Checking a file against a family is by key names and shapes (:meth:`Family.key_diff`,
:meth:`Family.check_shapes`) against a skeleton with the repository's exact module names,
built on the ``meta`` device (no memory, no weights).
"""
from __future__ import annotations

import functools
from typing import Sequence, TypeVar

import numpy as np
import torch
from torch import nn

from model_core.errors import CheckpointError
from model_core.models import frontends
from model_core.models.protocol import MAP_KINDS, SAMPLE_RATE, map_hw

_M = TypeVar("_M", bound=nn.Module)


class Family:
    """One family of published checkpoints: how to recognise, build and feed it.

    Subclass it (built-ins in this package, or a plugin registered under the entry-point
    group ``avsol.models``) and set the class attributes; override :meth:`skeleton`,
    :meth:`build_net` and :meth:`frontend`. Everything else has a working default.
    """

    key: str = ""                  # the --model-family name
    title: str = ""                # display name
    repository: str = ""
    licence: str = ""              # licence of the code re-implemented
    weights: str = ""              # where the authors publish the weights
    window_s: float = 1.0          # audio seconds, centred on the frame time
    map_kind: str = "cosine"
    tau: float | None = None       # for map_kind 'cosine_tau'
    map_size: int | tuple = 7
    geometry: str = "squash"       # 'squash' or 'centre' (see frontends.resize_geometry)
    mean: tuple = frontends.IMAGENET_MEAN
    std: tuple = frontends.IMAGENET_STD
    audio_input: str = ""          # one line: the audio front end
    convention: str = ""           # one line: the repository's threshold rule
    top_keys: tuple = ()           # where the state dict sits in the file (a detection hint)
    module_prefix: bool | None = None  # DataParallel's 'module.' expected (a detection hint)
    ignored_prefixes: tuple = ()   # keys real files carry that inference does not use
    optional_keys: tuple = ()      # keys that may be absent (or present) without harm
    same_layout_as: str | None = None  # another family with identical keys (told apart by hints)

    # -- layout ----------------------------------------------------------------------------
    def skeleton(self) -> nn.Module:
        """The repository's module tree (names and default shapes), for :meth:`key_layout`'s
        default. Built-in families describe their layout as data instead (building modules,
        even on the ``meta`` device, cost ~6 s on first use: ``avsol models inspect`` and
        the viewer's Add model would wait for it)."""
        raise NotImplementedError

    def key_layout(self) -> dict[str, tuple]:
        """``{key: shape}`` of the repository's state dict (default: :meth:`skeleton`'s)."""
        with torch.device("meta"):
            net = self.skeleton()
        return {k: tuple(v.shape) for k, v in net.state_dict().items()}

    @functools.cached_property
    def layout(self) -> dict[str, tuple]:
        return self.key_layout()

    def _optional(self, key: str) -> bool:
        return key.endswith("num_batches_tracked") or key in self.optional_keys

    def key_diff(self, keys) -> tuple[list[str], list[str]]:
        """``(missing, unexpected)`` key names of a state dict against this family."""
        keys = set(keys)
        expected = set(self.layout)
        missing = sorted(k for k in expected - keys if not self._optional(k))
        unexpected = sorted(k for k in keys - expected
                            if not self._optional(k) and not k.startswith(self.ignored_prefixes))
        return missing, unexpected

    def check_shapes(self, state: dict, path=None) -> None:
        """A :class:`CheckpointError` naming the first keys whose shapes differ. Shapes that
        the repository lets vary (a projection's output ``dim``) are checked by the build."""
        bad = [f"{k} {tuple(v.shape)} (expected {self.layout[k]})" for k, v in state.items()
               if k in self.layout and tuple(v.shape) != self.layout[k] and not self._free_shape(k)]
        if bad:
            raise CheckpointError(path, f"{len(bad)} weights of the wrong shape for {self.title}: "
                                        f"{'; '.join(bad[:3])}")

    def _free_shape(self, key: str) -> bool:
        return False

    def hint_score(self, top_key: str | None, had_module_prefix: bool) -> int:
        """How well the file's container matches this family (ties between families with
        the same keys are broken by it)."""
        score = 0
        if top_key is not None and top_key in self.top_keys:
            score += 2
        if self.module_prefix is not None and self.module_prefix == had_module_prefix:
            score += 1
        return score

    # -- running ---------------------------------------------------------------------------
    def frontend(self, windows: torch.Tensor) -> torch.Tensor:
        """(A, n) float32 audio -> the audio trunk's input."""
        raise NotImplementedError

    def build_net(self, state: dict[str, torch.Tensor]) -> nn.Module:
        """The network (``audio``, ``visual``, ``read``) with these weights, on the CPU."""
        raise NotImplementedError

    def model_class(self):
        return FamilyModel

    def build(self, state: dict[str, torch.Tensor], device="auto", name: str | None = None,
              batch_size: int = 16, threads: int | None = None, path=None, backend: str = "torch",
              precision: str = "fp32"):
        """The :class:`MapModel` of this family with these weights (``backend`` and
        ``precision`` as :class:`~model_core.inference.localizer.Localizer`'s)."""
        try:
            net = self.build_net(state)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(path, f"weights do not fit {self.title}: {str(exc).splitlines()[0][:300]}") from None
        return self.model_class()(self, net, device=device, name=name or self.key,
                                  batch_size=batch_size, threads=threads, backend=backend,
                                  precision=precision)

    def describe_inputs(self) -> str:
        """One line: what the model is fed."""
        image = ("Resize((224, 224)) bicubic (the whole frame)" if self.geometry == "squash"
                 else "Resize(224) bicubic + CenterCrop(224) (the centre square)")
        norm = "CLIP" if tuple(self.mean) == frontends.CLIP_MEAN else "ImageNet"
        h, w = map_hw(self.map_size)
        return (f"audio: {self.window_s:g} s at {SAMPLE_RATE} Hz mono centred on the frame, {self.audio_input}; "
                f"image: {image}, {norm} mean/std; map: {self.map_kind} at {h}x{w}")


def bn_layout(prefix: str, n: int) -> dict[str, tuple]:
    """A ``BatchNorm2d(n)``'s state-dict keys and shapes."""
    return {f"{prefix}weight": (n,), f"{prefix}bias": (n,), f"{prefix}running_mean": (n,),
            f"{prefix}running_var": (n,), f"{prefix}num_batches_tracked": ()}


def resnet18_layout(prefix: str = "", in_channels: int = 3, lvs_stems: bool = False,
                    fc: int | None = None) -> dict[str, tuple]:
    """torchvision's ResNet-18 state-dict keys and shapes under ``prefix`` (no ``fc``
    unless ``fc`` classes; layer4's stride does not change them). ``lvs_stems``: LVS's
    extra stems ``conv1_a`` (1 channel) and ``conv1_flow`` (6)."""
    out = {f"{prefix}conv1.weight": (64, in_channels, 7, 7), **bn_layout(f"{prefix}bn1.", 64)}
    if lvs_stems:
        out[f"{prefix}conv1_a.weight"] = (64, 1, 7, 7)
        out[f"{prefix}conv1_flow.weight"] = (64, 6, 7, 7)
    inplanes = 64
    for li, planes in enumerate((64, 128, 256, 512), start=1):
        for b in range(2):
            p = f"{prefix}layer{li}.{b}."
            cin = inplanes if b == 0 else planes
            out[f"{p}conv1.weight"] = (planes, cin, 3, 3)
            out.update(bn_layout(f"{p}bn1.", planes))
            out[f"{p}conv2.weight"] = (planes, planes, 3, 3)
            out.update(bn_layout(f"{p}bn2.", planes))
            if b == 0 and (li > 1 or inplanes != planes):
                out[f"{p}downsample.0.weight"] = (planes, inplanes, 1, 1)
                out.update(bn_layout(f"{p}downsample.1.", planes))
        inplanes = planes
    if fc is not None:
        out[f"{prefix}fc.weight"] = (fc, 512)
        out[f"{prefix}fc.bias"] = (fc,)
    return out


def load_exact(module: _M, state: dict[str, torch.Tensor]) -> _M:
    """``module.load_state_dict(state)`` with every key required and none extra, and the
    missing ``num_batches_tracked`` counters (old files) allowed; returns ``module``."""
    own = module.state_dict()
    state = dict(state)
    for k in own:
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = own[k]
    module.load_state_dict(state, strict=True)
    return module


def sub_state(state: dict, prefix: str, rename: dict[str, str] | None = None,
              drop: Sequence[str] = ()) -> dict:
    """The keys of ``state`` under ``prefix`` (without it), ``rename``d, those starting
    with any of ``drop`` left out."""
    out = {}
    for k, v in state.items():
        if not k.startswith(prefix):
            continue
        k = k[len(prefix):]
        if any(k.startswith(d) for d in drop):
            continue
        out[(rename or {}).get(k, k)] = v
    return out


class FamilyModel:
    """A published model ready to localize: :class:`MapModel` around a family's network.

    Maps are NATIVE (``family.map_kind``), at the family's map size, float32 on the CPU;
    ``p_avc`` is NaN (none of these families has one), ``class_probs`` is (B, 0).
    """

    def __init__(self, family: Family, net: nn.Module, device="auto", name: str = "",
                 batch_size: int = 16, threads: int | None = None, backend: str = "torch",
                 precision: str = "fp32"):
        from model_core.inference.backends.capability import resolve_precision
        from model_core.inference.backends.routed import RoutedStep
        from model_core.inference.device import resolve_device, set_threads
        from model_core.model.trunks import fold_batch_norm

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if family.map_kind not in MAP_KINDS:
            raise ValueError(f"{family.key}: unknown map_kind {family.map_kind!r}")
        self.family_spec = family
        self.device = resolve_device(device)
        self.threads = set_threads(threads) if self.device.type == "cpu" else threads
        self.batch_size = int(batch_size)
        # batch norm folded into the convolutions (the same function up to float rounding)
        self.net = fold_batch_norm(net.eval()).to(self.device)
        # NHWC convolutions: faster for the torch backend on the CPU, as for the Localizer
        # (benchmarks/bench_inference.py, figures in benchmarks/README.md)
        self.net.to(memory_format=torch.channels_last)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.name = str(name)
        self.family = family.key
        self.head = family.title
        self.classes: list[str] = []
        self.map_size = family.map_size
        self.map_kind = family.map_kind
        self.tau = family.tau
        self.audio_window_s = float(family.window_s)
        self.sample_rate = SAMPLE_RATE
        self.fingerprint: str | None = None   # the file's sha256, set by whoever loaded it
        # the visual and audio steps (the trunks) through the inference backend; the
        # family's front end and the read-out stay torch's
        self.backend = backend
        self.precision = resolve_precision(precision, self.device, self.name)
        self._visual = RoutedStep(self.net, "visual", backend, self.precision, self.device, self.name)
        self._audio = RoutedStep(self.net, "audio", backend, self.precision, self.device, self.name)
        self.log_mel_input = False            # each family's own front end, in embed_audio

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, family={self.family!r}, device={str(self.device)!r})"

    @property
    def backend_used(self) -> str:
        """The backends that have computed maps so far, e.g. ``"torch+openvino"``."""
        from model_core.inference.backends.routed import used

        return used(self._visual, self._audio)

    def crop(self, width: int, height: int) -> tuple[float, float, float, float]:
        return frontends.crop_box(int(width), int(height), self.family_spec.geometry)

    # -- steps -----------------------------------------------------------------------------
    @torch.inference_mode()
    def embed_audio(self, windows) -> torch.Tensor:
        """(A, n) float32 windows of ``audio_window_s`` seconds -> (A, ...) embeddings."""
        w = frontends._as_batch(windows)
        expected = int(round(self.audio_window_s * self.sample_rate))
        if w.shape[-1] != expected:
            # another length would run, and silently give another map than the paper's
            raise ValueError(f"{self.head} hears {self.audio_window_s:g} s windows ({expected} samples "
                             f"at {self.sample_rate} Hz), got {w.shape[-1]} samples")
        outs = []
        for i in range(0, w.shape[0], self.batch_size):
            spec = self.family_spec.frontend(w[i:i + self.batch_size].to(self.device))
            # nn.Module types a subclass's attributes as Tensor | Module: audio is a method here
            outs.append(self._audio(spec).float())
        if not outs:
            return torch.zeros((0, 0), device=self.device)
        return torch.cat(outs)

    def _inputs(self, frames) -> torch.Tensor:
        x = frontends.frames_to_input(frames, self.family_spec.geometry, self.family_spec.mean,
                                      self.family_spec.std, device=self.device)
        return x.contiguous(memory_format=torch.channels_last)

    def _index(self, n: int, emb_rows: int, audio_index) -> np.ndarray:
        idx = np.arange(n) if audio_index is None else np.asarray(audio_index, dtype=np.int64)
        if idx.shape != (n,):
            raise ValueError(f"audio_index must have one entry per frame ({n}), got shape {idx.shape}")
        if n and (idx.min() < 0 or idx.max() >= emb_rows):
            raise ValueError(f"audio_index outside 0..{emb_rows - 1}")
        return idx

    def _prediction(self, maps: list[np.ndarray]):
        from model_core.inference.localizer import Prediction

        h, w = map_hw(self.map_size)
        m = np.concatenate(maps).astype(np.float32) if maps else np.zeros((0, h, w), np.float32)
        return Prediction(m, np.full(len(m), np.nan, np.float32), np.zeros((len(m), 0), np.float32))

    @torch.inference_mode()
    def predict(self, frames, emb: torch.Tensor, audio_index=None):
        return self.predict_audios(frames, [emb], audio_index)[0]

    @torch.inference_mode()
    def predict_audios(self, frames, embs: Sequence[torch.Tensor], audio_index=None) -> list:
        n = len(frames)
        idxs = [self._index(n, e.shape[0], audio_index) for e in embs]
        parts: list[list[np.ndarray]] = [[] for _ in embs]
        for i in range(0, n, self.batch_size):
            V = self._visual(self._inputs(frames[i:i + self.batch_size]))
            for k, emb in enumerate(embs):
                rows = torch.as_tensor(idxs[k][i:i + self.batch_size], device=emb.device)
                parts[k].append(self.net.read(  # type: ignore[operator]  # a method (as audio above)
                    V, emb[rows].to(self.device)).float().cpu().numpy())
        return [self._prediction(p) for p in parts]

    def warmup(self, batch: int | None = None) -> None:
        b = batch or self.batch_size
        emb = self.embed_audio(np.zeros((1, int(round(self.audio_window_s * self.sample_rate))), np.float32))
        self.predict(np.zeros((b, 224, 224, 3), np.uint8), emb, np.zeros(b, np.int64))

