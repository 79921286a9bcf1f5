"""``avsol synth``'s options, declared once (:mod:`model_core.options.spec`): the set's
settings are :class:`~model_core.synth.plan.SynthConfig`'s own declaration (help, default,
range), extended here by what only the command has (OUT, ``--workers``, ``--force``,
``--jsonl``)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from model_core.options.spec import option, positional
from model_core.synth.plan import SynthConfig


@dataclass(frozen=True, kw_only=True)
class SynthCommand(SynthConfig):
    """Every option of ``avsol synth``."""

    COMMAND: ClassVar[str] = "synth"

    out: str = positional(metavar="OUT", help="folder to write the set into")
    workers: int = option(1, lo=1, help="parallel processes")
    jsonl: bool = option(False, help="progress as JSON lines on stdout (the job protocol's events)")
    force: bool = option(False, help="replace the synthetic set already in OUT (its stale videos are removed); "
                                     "a non-empty folder that is not a set of avsol synth is never written into")

    def config(self) -> SynthConfig:
        """The set's settings alone (what the generator and the plan file see)."""
        return SynthConfig(**{f.name: getattr(self, f.name) for f in fields(SynthConfig)})
