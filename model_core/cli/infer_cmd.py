"""``avsol infer VIDEO --checkpoint CKPT --out MAPS.npz [--fps F] ...`` (SPEC 9).

Runs one checkpoint over a video (every frame, or ``F`` frames per second) and writes a
maps file (:mod:`model_core.maps_file`): ``maps``, ``videos`` (the video's file name, as
annotations name it), ``times``, ``head``, and the extra arrays ``p_avc`` (N) and
``class_probs`` (N x C). ``--audio-window frame`` centres a 1 s audio window on every frame
instead of the 1 s segment's (model_core.inference.audio_window). A video without sound is analysed on silence, with a note on
stderr. The audio is the first stream that is not silent, or ``--audio-stream N``; a file
with several names the one heard (stderr, and the maps file's ``audio_stream``). Bad input
(missing video, audio-only file, foreign checkpoint) exits 2 with one line.
"""
from __future__ import annotations

import argparse
import sys

from model_core.outputs import finite, integer


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "infer",
        help="compute localization maps of a video with a checkpoint (writes a maps .npz)",
        description=(
            "Compute the localization maps (sigmoid of the audio-visual logit map, at the "
            "model's map resolution) of every frame of VIDEO, or of F frames per second, "
            "and write them as a maps file (SPEC 9)."),
    )
    parser.add_argument("video", metavar="VIDEO", help="video file (mp4, mkv, webm, mov, avi, ...)")
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", help="model checkpoint (.pt)")
    parser.add_argument("--out", required=True, metavar="MAPS.npz", help="maps file to write")
    parser.add_argument("--fps", type=finite(0, 1000, lo_open=True), default=None, metavar="F",
                        help="frames per second to analyse (default: every frame)")
    parser.add_argument("--audio-window", default="segment", choices=("segment", "frame"),
                        help="audio paired with each frame: 'segment' (default, as the viewer, "
                             "eval and training: the 1 s window centred on the frame's 1 s "
                             "segment, one audio pass per second) or 'frame' (a 1 s window "
                             "centred on every frame: smoother over time, one audio pass per frame)")
    parser.add_argument("--audio-stream", type=integer(0, 1023), default=None, metavar="N",
                        help="which audio stream the maps hear (0 = the first; default: the first "
                             "that is not silent); named in the output and the maps file")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the model runs (default auto: CUDA if available, else CPU)")
    parser.add_argument("--batch-size", type=integer(1, 4096), default=16, metavar="B",
                        help="frames per forward pass (default 16)")
    parser.add_argument("--threads", type=integer(1, 1024), default=None, metavar="N",
                        help="CPU threads for torch (default: torch's own choice)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)
    return parser


def interrupted_hint(args) -> str:
    return f"{args.out} was not written (it is written whole at the end); rerun the same command"


def run(args: argparse.Namespace) -> int:
    import os
    import time

    from model_core.errors import InputError
    from model_core.outputs import beside, claim_outputs

    paths, _ = claim_outputs({"--out": (args.out, "maps")},
                             {"VIDEO": beside(args.video), "--checkpoint": [args.checkpoint]}, lock="--out")
    from model_core.media.probe import probe

    probe(args.video)  # a missing or non-media video is named before the model loads
    if args.audio_stream is not None:  # so is an audio stream it does not have
        from model_core.media.audio import choose_audio_stream

        choose_audio_stream(args.video, args.audio_stream)

    from model_core.inference import Localizer
    from model_core.inference.audio_window import AUDIO_HOP, PER_FRAME
    import numpy as np

    from model_core.inference.audio_sources import AudioSpec
    from model_core.maps_file import save_maps

    loc = Localizer(args.checkpoint, device=args.device, batch_size=args.batch_size,
                    threads=args.threads)
    from model_core.progress import ProgressBar

    started = time.perf_counter()
    with ProgressBar(0, "infer", "frames", quiet=args.quiet) as bar:
        own = None if args.audio_stream is None else AudioSpec("own", stream=args.audio_stream)
        vm = loc.localize_video(args.video, fps=args.fps, progress=bar.update_to, audio=own,
                                audio_hop=PER_FRAME if args.audio_window == "frame" else AUDIO_HOP)
    elapsed = time.perf_counter() - started
    if vm.silent_audio:
        print(f"avsol infer: note: {args.video} has no audio track; maps computed on silence",
              file=sys.stderr)
    if vm.audio:
        print(f"avsol infer: note: {args.video}: the maps hear {vm.audio}", file=sys.stderr)
    name = os.path.basename(os.fspath(args.video))
    try:
        save_maps(paths["--out"], vm.maps, [name] * len(vm), vm.times, head=loc.head,
                  extra={"p_avc": vm.p_avc, "class_probs": vm.class_probs,
                         # which audio stream the maps heard (-1: none, computed on silence)
                         "audio_stream": np.asarray(-1 if vm.audio_stream is None else vm.audio_stream)})
    except OSError as exc:
        raise InputError(args.out, f"cannot write: {exc.strerror or exc}") from None
    rate = len(vm) / elapsed if elapsed > 0 else float("inf")
    print(f"wrote {len(vm)} maps ({loc.map_size}x{loc.map_size}, head {loc.head}) of {name} to "
          f"{args.out} in {elapsed:.1f} s ({rate:.1f} frames/s on {loc.device})")
    return 0
