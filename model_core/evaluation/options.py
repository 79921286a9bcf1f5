"""The settings of an evaluation run, declared once (:mod:`model_core.options.spec`).

:class:`EvalOptions` is both what :func:`~model_core.evaluation.runner.run_eval` takes from
code and the run's part of ``avsol eval``'s command line: ``avsol eval``'s declaration
(:class:`model_core.options.eval.EvalCommand`) adds only what names the inputs and the
report (DATA, ``--checkpoint``, ``--out``). So a run from code and the same run from the
command line have the same defaults and the same checks, with nothing to keep equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from model_core.evaluation.protocols import PROTOCOLS
from model_core.inference.backends.options import backend_option, precision_option
from model_core.metrics.threshold import parse_rule
from model_core.options.spec import option, problems

if TYPE_CHECKING:
    from model_core.evaluation.negatives import NegativeOptions
    from model_core.inference.audio_sources import AudioSpec


@dataclass(kw_only=True)
class EvalOptions:
    """Every setting of an evaluation run that is not an input or the report's path."""

    model_family: str | None = option(None, metavar="NAME",
                                      help="force this family for the checkpoints instead of detecting it")
    csv: str | None = option(None, metavar="F", help="also write the item table as CSV")
    resume: bool = option(False, help="keep the results already in REPORT.items*.jsonl and do only the rest")
    jsonl: bool = option(False, help="JSON-line events on stdout")
    device: str = option("auto", help="auto (default), cpu, cuda, cuda:N")
    batch_size: int = option(16, lo=1, hi=4096, help="frames per forward pass")
    threads: int | None = option(None, kind=int, lo=1, hi=1024, help="torch CPU threads (default: torch's)")
    backend: str = backend_option()
    precision: str = precision_option()
    protocol: str | None = option(None, choices=tuple(PROTOCOLS),
                                  help="evaluate as that paper did: the annotated frame, the model's own "
                                       "audio window centred on it, the paper's threshold rule (recorded in "
                                       "the report; what cannot be matched without the paper's data is "
                                       "listed there)")
    # a number from code is a rule too (norm:T); None is the median rule
    threshold: str | float | None = option(None, kind=str, parse=parse_rule, metavar="RULE",
                                           help="binary prediction of cIoU: median (default: LVS, EZ-VSL, FNAC), "
                                                "fixed:T (the absolute [0,1] map > T), top-gt (the |GT| highest "
                                                "pixels), adaptive (SSL-align's cIoU_adap), slavc (SLAVC's "
                                                "(S+1/tau)/(2/tau) > 0.5), sweep (cIoU at fixed 0.05..0.95, "
                                                "reported); a bare number T thresholds the min-max map")
    annotations: str | None = option(None, metavar="PATH",
                                     help="AVSOL-E file or AVE folder to use instead of the one in DATA")
    videos: str | None = option(None, metavar="DIR", help="folder of the videos")
    split: str | None = option(None, choices=("train", "val", "test"),
                               help="AVE only: evaluate this split (default: every annotated video)")
    limit: int | None = option(None, kind=int, lo=1, metavar="N", help="first N videos only")
    audio_stream: int | None = option(None, kind=int, lo=0, hi=1023, metavar="N",
                                      help="which audio stream the maps hear (0 = the first; default: the "
                                           "first that is not silent); named in the report")
    negatives: bool = option(False, help="audio dependence (SPEC 5): also read every event item with "
                                         "silence, noise and an off-screen sound in place of its own audio")
    # None: not given (refused without --negatives); NegativeOptions holds what None means
    noise_level: str | None = option(None, choices=("rms", "unit"),
                                     help="--negatives noise: rms (default: the RMS of the item's own 1 s "
                                          "window) or unit (unit variance, as Juanola et al.)")
    offscreen_draws: int | None = option(None, kind=int, lo=1, hi=100, metavar="K",
                                         help="--negatives: off-screen segments drawn per item (default 1)")
    negatives_seed: int | None = option(None, kind=int, lo=0, hi=2**31 - 1, metavar="S",
                                        help="--negatives: seed of the off-screen draws and the noise "
                                             "(default 0; recorded)")

    def problems(self) -> list[str]:
        """The declared checks, and the options that apply only with ``--negatives``."""
        out = problems(self)
        given = [o for o, v in (("--noise-level", self.noise_level), ("--offscreen-draws", self.offscreen_draws),
                                ("--negatives-seed", self.negatives_seed)) if v is not None]
        if given and not self.negatives:
            out.append(f"{given[0]} applies only with --negatives")
        return out

    def negative_options(self) -> NegativeOptions | None:
        """The ``--negatives`` settings (None without ``--negatives``), an option not given
        taking NegativeOptions' default."""
        if not self.negatives:
            return None
        from model_core.evaluation.negatives import NegativeOptions

        unset = NegativeOptions()
        return NegativeOptions(unset.noise_level if self.noise_level is None else self.noise_level,
                               unset.offscreen_draws if self.offscreen_draws is None else self.offscreen_draws,
                               unset.seed if self.negatives_seed is None else self.negatives_seed)

    def own_audio(self) -> AudioSpec | None:
        """What the maps hear: the videos' own audio, stream ``audio_stream`` if given."""
        if self.audio_stream is None:
            return None
        from model_core.inference.audio_sources import AudioSpec

        return AudioSpec("own", stream=self.audio_stream)
