"""``avsol infer VIDEO --checkpoint CKPT --out MAPS.npz [--fps F] ...`` (SPEC 9).

Runs one checkpoint of any supported family (ours, or a published model's file: EZ-VSL,
FNAC, SLAVC, LVS, SSL-align, SSL-TIE, RCGrad or a plugin's, detected from its keys;
``--model-family NAME`` forces one) over a video (every frame, or ``F`` frames per second) and writes a
maps file (:mod:`model_core.maps_file`): ``maps``, ``videos`` (the video's file name, as
annotations name it), ``times``, ``head``, and the extra arrays ``p_avc`` (N) and
``class_probs`` (N x C), and the model's native scale (``map_kind``, ``tau``), ``family`` and
``crop`` (the part of the frame a centre-cropping model sees). ``--audio-window frame`` centres a 1 s audio window on every frame
instead of the 1 s segment's (model_core.inference.audio_window). A video without sound is analysed on silence, with a note on
stderr. The audio is the first stream that is not silent, or ``--audio-stream N``; a file
with several names the one heard (stderr, and the maps file's ``audio_stream``). Bad input
(missing video, audio-only file, foreign checkpoint) exits 2 with one line. Progress goes
to stderr; with ``--jsonl`` the job protocol's events go to stdout as JSON lines
(``progress`` in frames, ``done`` once the maps file is written) and the summary to stderr.
"""
from __future__ import annotations

import argparse
import sys

from model_core.options.infer import InferCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "infer",
        help="compute localization maps of a video with a checkpoint (writes a maps .npz)",
        description=(
            "Compute the localization maps (the model's native map at its own resolution: "
            "sigmoid for our heads, cosine, cosine/tau or Grad-CAM for the field's models) "
            "of every frame of VIDEO, or of F frames per second, and write them as a maps "
            "file (SPEC 9)."),
    )
    add_options(parser, InferCommand)   # every option, declared once in model_core.options.infer
    parser.set_defaults(func=run)
    return parser


def interrupted_hint(args) -> str:
    return f"{args.out} was not written (it is written whole at the end); rerun the same command"


def run(args: argparse.Namespace) -> int:
    import os
    import time

    from model_core.errors import InputError
    from model_core.input_protection import beside
    from model_core.outputs.checks import claim_outputs

    paths, _ = claim_outputs({"--out": (args.out, "maps")},
                             {"VIDEO": beside(args.video), "--checkpoint": [args.checkpoint]}, lock="--out")
    from model_core.media.probe import probe

    probe(args.video)  # a missing or non-media video is named before the model loads
    if args.audio_stream is not None:  # so is an audio stream it does not have
        from model_core.media.audio import choose_audio_stream

        choose_audio_stream(args.video, args.audio_stream)

    from model_core.inference.audio_window import AUDIO_HOP, PER_FRAME
    from model_core.inference.pipeline import localize_many
    from model_core.models.loading import load_model
    from model_core.models.protocol import map_hw
    import numpy as np

    from model_core.inference.audio_sources import AudioSpec
    from model_core.maps_file import save_maps

    loc = load_model(args.checkpoint, device=args.device, family=args.model_family,
                     batch_size=args.batch_size, threads=args.threads, backend=args.backend,
                     precision=args.precision)
    from contextlib import nullcontext

    from model_core.jobs.events import Done, Progress
    from model_core.jobs.sinks import HumanSink, JsonlSink

    started = time.perf_counter()
    with nullcontext(JsonlSink()) if args.jsonl else HumanSink("infer", "frames", quiet=args.quiet, total=0) as sink:
        own = None if args.audio_stream is None else AudioSpec("own", stream=args.audio_stream)
        vm = localize_many([loc], args.video, fps=args.fps, progress=lambda d, t: sink(Progress(done=d, total=t)),
                           audio=own,
                           audio_hop=PER_FRAME if args.audio_window == "frame" else AUDIO_HOP)[loc.name]
    elapsed = time.perf_counter() - started
    if vm.silent_audio:
        print(f"avsol infer: note: {args.video} has no audio track; maps computed on silence",
              file=sys.stderr)
    if vm.audio:
        print(f"avsol infer: note: {args.video}: the maps hear {vm.audio}", file=sys.stderr)
    name = os.path.basename(os.fspath(args.video))
    from model_core.evaluation.runner import crop_fractions

    try:
        extra = {"p_avc": vm.p_avc, "class_probs": vm.class_probs,
                 # which audio stream the maps heard (-1: none, computed on silence)
                 "audio_stream": np.asarray(-1 if vm.audio_stream is None else vm.audio_stream)}
        if not np.isfinite(vm.p_avc).all():   # a family without a correspondence score (NaN)
            del extra["p_avc"]
        save_maps(paths["--out"], vm.maps, [name] * len(vm), vm.times, head=loc.head, extra=extra,
                  map_kind=loc.map_kind, tau=loc.tau, family=loc.family, crop=crop_fractions(loc, args.video))
    except OSError as exc:
        raise InputError(args.out, f"cannot write: {exc.strerror or exc}") from None
    sink(Done(out=str(args.out), seconds=elapsed))    # the maps file is whole: the job is done
    rate = len(vm) / elapsed if elapsed > 0 else float("inf")
    h, w = map_hw(loc.map_size)
    print(f"wrote {len(vm)} maps ({h}x{w} {loc.map_kind}, {loc.family} head {loc.head}) of {name} to "
          f"{args.out} in {elapsed:.1f} s ({rate:.1f} frames/s on {loc.device})",
          file=sys.stderr if args.jsonl else sys.stdout)
    return 0
