"""``avsol infer``'s options, declared once (:mod:`model_core.options.spec`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from model_core.inference.backends.options import backend_option, precision_option
from model_core.options.spec import option, positional


@dataclass(kw_only=True)
class InferCommand:
    """Every option of ``avsol infer``."""

    COMMAND: ClassVar[str] = "infer"

    video: str = positional(metavar="VIDEO", help="video file (mp4, mkv, webm, mov, avi, ...)")
    checkpoint: str = option(required=True, metavar="CKPT",
                             help="model checkpoint: ours (.pt) or a published model's (.pth, .pth.tar)")
    model_family: str | None = option(None, metavar="NAME",
                                      help="force the checkpoint's family (avsol models list) instead of "
                                           "detecting it")
    out: str = option(required=True, metavar="MAPS.npz", help="maps file to write")
    fps: float | None = option(None, kind=float, lo=0, hi=1000, lo_open=True, metavar="F",
                               help="frames per second to analyse (default: every frame)")
    audio_window: str = option("segment", choices=("segment", "frame"),
                               help="audio paired with each frame: 'segment' (default, as the viewer, eval "
                                    "and training: the 1 s window centred on the frame's 1 s segment, one "
                                    "audio pass per second) or 'frame' (a 1 s window centred on every frame: "
                                    "smoother over time, one audio pass per frame)")
    audio_stream: int | None = option(None, kind=int, lo=0, hi=1023, metavar="N",
                                      help="which audio stream the maps hear (0 = the first; default: the "
                                           "first that is not silent); named in the output and the maps file")
    device: str = option("auto", choices=("auto", "cpu", "cuda"),
                         help="where the model runs (default auto: CUDA if available, else CPU)")
    batch_size: int = option(16, lo=1, hi=4096, metavar="B", help="frames per forward pass")
    threads: int | None = option(None, kind=int, lo=1, hi=1024, metavar="N",
                                 help="CPU threads for torch (default: torch's own choice)")
    backend: str = backend_option()
    precision: str = precision_option()
    quiet: bool = option(False, help="no progress on stderr")
    jsonl: bool = option(False, help="progress as JSON lines on stdout (the job protocol's events); the "
                                     "summary goes to stderr")
