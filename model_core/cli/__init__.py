"""The ``avsol`` command line (SPEC 9).

Each subcommand lives in its own module of this package exposing ``add_parser(subparsers)``
(which sets ``func`` on its parser). Subcommand modules import heavy libraries (torch) only
inside their ``run`` functions so that ``avsol --help`` is instant.

Exit status: 0 success, 2 bad input (one line on stderr naming the file and the problem),
1 internal error, 130 interrupted. Every command checks its options and outputs before any
work (:mod:`model_core.outputs`); SIGTERM is handled like SIGINT (Ctrl-C) by every
command, and the line printed then says what was kept and how to resume (a module's
``interrupted_hint(args)``); stdout closing early (``| head``) never stops the work.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading

from model_core import __version__, allocator
from model_core.errors import InputError
from model_core.options.types import OneLineParser
from model_core.outputs.lock import release_all
from model_core.outputs.stdout import SafeStdout

# Subcommand modules, in the order shown by --help. Every one must import: a module that
# fails (a syntax error, a missing dependency) is an error naming it, never a command that
# silently disappears from the CLI.
SUBCOMMANDS = [
    "model_core.cli.synth_cmd",
    "model_core.cli.import_cmd",
    "model_core.cli.train_cmd",
    "model_core.cli.infer_cmd",
    "model_core.cli.metrics_cmd",
    "model_core.cli.eval_cmd",
    "model_core.cli.compare_cmd",
    "model_core.cli.agreement_cmd",
    "model_core.cli.models_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="avsol",
        description="AVSOL Studio command line: synthetic data, import, train, infer, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"avsol {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - named in one line, whatever it is
            raise BrokenCommandError(name, exc) from exc
        sub_parser = module.add_parser(sub)
        if hasattr(module, "interrupted_hint") and sub_parser is not None:
            sub_parser.set_defaults(interrupted_hint=module.interrupted_hint)
    return parser


class BrokenCommandError(RuntimeError):
    """A subcommand's module does not import: the install or the tree is broken."""

    def __init__(self, module: str, exc: BaseException):
        self.module = module
        super().__init__(f"avsol: error: the command module {module} cannot be imported "
                         f"({type(exc).__name__}: {exc}); the installation is broken")


#: Write errors of the machine, not of the program: one line and exit 2, never a traceback.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                errno.EIO, errno.ENOTDIR, errno.EISDIR}


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def _interrupted_line(args) -> str:
    hint = getattr(args, "interrupted_hint", None)
    try:
        text = hint(args) if hint is not None else None
    except Exception:  # noqa: BLE001 - the hint must never hide the interruption
        text = None
    return text or "nothing was half-written (outputs appear whole or not at all); rerun the same command"


def main(argv: list[str] | None = None) -> int:
    if allocator.wanted(sys.argv[1:] if argv is None else argv):
        allocator.bound_heap()  # first: the arena cap holds only if set before any thread starts
    try:
        parser = build_parser()
    except BrokenCommandError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad option (one line printed), --help, --version
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv  # as typed (a training run records it)
    original_stdout = sys.stdout
    stdout = sys.stdout = original_stdout if isinstance(original_stdout, SafeStdout) else SafeStdout(original_stdout)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)  # SIGTERM = Ctrl-C
    try:
        code = int(args.func(args) or 0)
    except InputError as exc:
        print(f"avsol {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"avsol {args.command}: interrupted; {_interrupted_line(args)}", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"avsol {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        release_all()
        stdout.flush()
        sys.stdout = original_stdout
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if stdout.error is not None:
        print(f"avsol {args.command}: error: standard output: cannot write "
              f"({stdout.error.strerror or stdout.error}); the files were written", file=sys.stderr)
        return code or 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
