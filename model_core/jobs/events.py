"""The job protocol: what a running command (train, eval, synth, infer) reports, as typed records.

One vocabulary for every long command, so that the CLI's two sinks (:mod:`.sinks`: the human
progress bar and ``--jsonl``), the viewer's job panel and ``scripts/`` read the same classes
instead of each parsing dicts by string key. On the wire (``--jsonl``) an event is one JSON
object per line: ``{"event": KIND, "v": VERSION, ...fields}``; a field whose value is None is
left out (it reads back as None). A line without ``"v"`` is read as version 1, the vocabulary
before the version was written, so saved logs of earlier runs still read.

The kinds and who sends them:

- ``start`` (train): the run's shape, once its data is read and the model built.
- ``progress`` (eval, synth, infer; train's feature cache with ``stage="cache"``): ``done`` of
  ``total`` units of the command's work.
- ``item`` (eval): one scored row of the report (``model_core.metrics.items`` row keys).
- ``step`` (train): the loss terms at a logging step.
- ``epoch`` (train): the epoch's train means and validation metrics.
- ``log`` (train, eval): a line for the user (``level`` ``info`` or ``warning``).
- ``error`` (eval): a video that could not be evaluated; the run goes on.
- ``done`` (train, eval): the run's result (the checkpoint or the report written).

A newer writer may add fields to a kind: a reader ignores fields it does not know. A change
that an older reader would misread raises :data:`VERSION`, and :func:`parse` refuses a version
it does not know with one line saying so.
"""
from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from model_core.errors import InputError

#: The protocol version written with every event.
VERSION = 1
#: The versions :func:`parse` reads.
READS = (1,)


class EventError(InputError):
    """A line that is not an event of a known kind and version; ``str(err)`` is one line."""


@dataclass
class Event:
    """Base of every event; ``kind`` is its name on the wire."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The wire object: ``event``, ``v``, then the fields that are not None."""
        out: dict[str, Any] = {"event": self.kind, "v": VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    def to_json(self) -> str:
        """One JSON line (no newline), ASCII (any console encoding carries it); numpy or torch
        scalars are written as floats."""
        return json.dumps(self.to_dict(), default=float)


@dataclass
class Start(Event):
    """A training run starts (``step`` > 0 when resumed from ``resumed_from``)."""

    kind: ClassVar[str] = "start"
    head: str | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    total_steps: int | None = None
    step: int = 0
    batch_size: int | None = None
    train_segments: int | None = None
    val_segments: int | None = None
    classes: list | None = None
    device: str | None = None
    world_size: int = 1
    resumed_from: int | None = None
    out: str | None = None


@dataclass
class Progress(Event):
    """``done`` of ``total`` units; ``stage`` names a preparatory stage (``"cache"``: train's
    feature cache, in videos), None the command's own work (eval's videos, synth's videos,
    infer's frames). ``resumed``: units an earlier run already did (eval's first event)."""

    kind: ClassVar[str] = "progress"
    done: int = 0
    total: int = 0
    stage: str | None = None
    items: int | None = None
    video: str | None = None
    folder: str | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    resumed: int | None = None


@dataclass
class Item(Event):
    """One row of an evaluation (its keys are the report's item keys, sent flat)."""

    kind: ClassVar[str] = "item"
    row: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "v": VERSION, **self.row}


@dataclass
class Step(Event):
    """A logging step of training: the last step's loss terms and the rate since the last."""

    kind: ClassVar[str] = "step"
    epoch: int = 0
    step: int = 0
    total_steps: int = 0
    samples_per_s: float | None = None
    lr: float | None = None
    loss: float | None = None
    l_avc: float | None = None
    l_cls: float | None = None
    avc_acc: float | None = None
    cls_acc: float | None = None
    grad_norm: float | None = None   # before clipping, with --grad-clip


@dataclass
class Epoch(Event):
    """An epoch ended: the train means and the validation metrics (empty when not validated)."""

    kind: ClassVar[str] = "epoch"
    epoch: int = 0
    epochs: int | None = None
    step: int | None = None
    train: dict = field(default_factory=dict)
    val: dict = field(default_factory=dict)
    seconds: float | None = None


@dataclass
class Log(Event):
    """A line for the user."""

    kind: ClassVar[str] = "log"
    text: str = ""
    level: str = "info"


@dataclass
class Error(Event):
    """A video that could not be evaluated (``status`` ``failed`` or ``missing``); the run goes on."""

    kind: ClassVar[str] = "error"
    video: str | None = None
    status: str | None = None
    error: str | None = None


@dataclass
class Done(Event):
    """The run finished: training's checkpoint ``out`` and its totals, or eval's ``report``."""

    kind: ClassVar[str] = "done"
    out: str | None = None
    report: str | None = None
    steps: int | None = None
    epochs: int | None = None
    samples: int | None = None
    seconds: float | None = None
    train: dict | None = None
    val: dict | None = None


#: Every kind, by its wire name.
KINDS: dict[str, type[Event]] = {c.kind: c for c in (Start, Progress, Item, Step, Epoch, Log, Error, Done)}
#: Kinds of version 1 lines written before the vocabulary was typed, read as today's.
_RENAMED = {"cache": ("progress", {"stage": "cache"})}


def _type_ok(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field's annotation (int for a float; NaN written as NaN)."""
    if hint is Any:
        return True
    args = typing.get_args(hint)
    if args and type(None) in args:
        return value is None or any(_type_ok(value, a) for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (str, bool, list, dict):
        return isinstance(value, origin)
    return True


_HINTS: dict[type[Event], dict[str, Any]] = {}


def _hints(cls: type[Event]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def from_dict(msg: Any, where: str | None = None) -> Event:
    """The event of a decoded wire object; :class:`EventError` names what is wrong."""
    if not isinstance(msg, dict):
        raise EventError(where, f"not an event: a JSON {type(msg).__name__}, not an object")
    kind = msg.get("event")
    if not isinstance(kind, str):
        raise EventError(where, "not an event: no \"event\" field")
    version = msg.get("v", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version not in READS:
        raise EventError(where, f"event {kind!r} of protocol version {version!r}: this avsol reads "
                                f"version {', '.join(map(str, READS))} (a newer avsol wrote it?)")
    extra: dict[str, Any] = {}
    if kind in _RENAMED:
        kind, extra = _RENAMED[kind]
    cls = KINDS.get(kind)
    if cls is None:
        raise EventError(where, f"unknown event {kind!r} (known: {', '.join(KINDS)})")
    body = {k: v for k, v in msg.items() if k not in ("event", "v")}
    if cls is Item:
        return Item(row=body)
    hints = _hints(cls)
    known = {f.name for f in fields(cls)}
    kw = {**{k: v for k, v in body.items() if k in known}, **extra}
    for name, value in kw.items():
        if not _type_ok(value, hints[name]):
            raise EventError(where, f"event {kind!r}: field {name!r} has a bad value {value!r}")
    return cls(**kw)


def parse(line: str | bytes, where: str | None = None) -> Event:
    """The event of one JSON line. A line that is not JSON, not an object, of an unknown kind
    or version, or with a field of the wrong type raises :class:`EventError` (one line,
    naming ``where``: a file and line number, a child process), never another exception."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    text = line.strip()
    try:
        msg = json.loads(text)
    except ValueError:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise EventError(where, f"not a JSON line: {shown!r}") from None
    return from_dict(msg, where)

