"""``avsol eval``'s options, declared once (:mod:`model_core.options.spec`): the parser,
the checks before work and the viewer's Evaluate command line are generated from
:class:`EvalCommand`, which is the run's settings (:class:`~model_core.evaluation.options.EvalOptions`,
what the runner takes) plus the inputs and the report."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from model_core.evaluation.options import EvalOptions
from model_core.options.spec import option, positional


@dataclass(kw_only=True)
class EvalCommand(EvalOptions):
    """Every option of ``avsol eval``."""

    COMMAND: ClassVar[str] = "eval"

    data: str = positional(metavar="DATA", help="folder with videos + avsol-e.json or Annotations.txt")
    checkpoint: list[str] = option(required=True, repeat=True, metavar="CKPT",
                                   help="checkpoint to evaluate, ours or a published model's (EZ-VSL, FNAC, "
                                        "SLAVC, LVS, SSL-align, SSL-TIE, RCGrad, a plugin's); repeat for "
                                        "several heads")
    out: str = option(required=True, metavar="REPORT.json", help="report to write")
