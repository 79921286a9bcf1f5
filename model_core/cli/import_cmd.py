"""``avsol import {vggss,flickr} SRC --out avsol-e.json [--videos DIR]`` (SPEC 9).

Converts a public benchmark's annotations to AVSOL-E v1 so that ``avsol metrics`` and the
viewer read them like our own. Prints one line per entry dropped or repaired (and, with
``--videos``, per listed video missing from DIR), then the counts on the last line. Bad
input (SRC missing, not JSON, nothing usable) exits 2 with a one-line message.
"""
from __future__ import annotations

import argparse

from model_core.options.reports import ImportCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "import",
        help="convert VGG-SS or Flickr-SoundNet annotations to AVSOL-E v1",
        description=(
            "Convert a public benchmark's annotations to AVSOL-E v1. vggss: SRC is vggss.json "
            "(each entry becomes <file>.mp4, segment [4.5, 5.5] s, frame at 5.0 s). flickr: "
            "SRC is the folder of <stem>.xml files (each becomes <stem>.jpg, or the file found "
            "in --videos, segment [0, 1] s, frame at 0.5 s, one annotator per box)."),
    )
    add_options(parser, ImportCommand)   # every option, declared once in model_core.options.reports
    parser.set_defaults(func=run)
    return parser


def _files(folder: str) -> list:
    """The files of a SRC folder (Flickr's XML files are inputs, none may be overwritten)."""
    import os

    try:
        return [e.path for e in os.scandir(folder) if e.is_file()] if os.path.isdir(folder) else []
    except OSError:
        return []


def run(args: argparse.Namespace) -> int:
    from model_core.errors import InputError
    from model_core.formats import import_flickr, import_vggss, save_avsol_e
    from model_core.input_protection import data_inputs
    from model_core.outputs.checks import claim_outputs

    paths, _ = claim_outputs({"--out": (args.out, "annotations")},
                             {"SRC": [args.src, *_files(args.src)], "--videos": data_inputs(args.videos)},
                             lock="--out")
    importer = import_vggss if args.source == "vggss" else import_flickr
    annotations, report = importer(args.src, videos_dir=args.videos)
    try:
        save_avsol_e(annotations, paths["--out"])
    except OSError as exc:
        raise InputError(args.out, f"cannot write: {exc.strerror or exc}") from None
    for line in report.lines:
        print(line)
    print(report.summary())
    return 0
