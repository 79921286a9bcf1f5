"""The ``avsol`` command line (SPEC 9).

Each subcommand lives in its own module of this package exposing ``add_parser(subparsers)``
(which sets ``func`` on its parser). Subcommand modules import heavy libraries (torch) only
inside their ``run`` functions so that ``avsol --help`` is instant.

Exit status: 0 success, 2 bad input (one line on stderr naming the file and the problem),
1 internal error, 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from model_core import __version__
from model_core.errors import InputError

# Subcommand modules, in the order shown by --help. A module missing here is simply
# skipped, so parts of the CLI can land independently.
SUBCOMMANDS = [
    "model_core.cli.synth_cmd",
    "model_core.cli.import_cmd",
    "model_core.cli.train_cmd",
    "model_core.cli.infer_cmd",
    "model_core.cli.metrics_cmd",
    "model_core.cli.eval_cmd",
    "model_core.cli.compare_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avsol",
        description="AVSOL Studio command line: synthetic data, import, train, infer, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"avsol {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"avsol {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"avsol {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
