"""``avsol models list`` and ``avsol models inspect FILE [--model-family NAME]``.

``list`` prints the model families AVSOL Studio can load: its own heads (``dnm``), the
field's published families (:mod:`model_core.models`) and those plugins add through the
entry-point group ``avsol.models``, with a line for each plugin that cannot be used.
``inspect`` reads a checkpoint (``weights_only``, nothing executed), detects its family
(or checks the forced one) and prints the family, the parameter count, the missing and
unexpected keys, the inputs the model expects and the licence of the code it
re-implements. A file that is damaged, foreign, partial, of another family than the one
forced, or that would run code when loaded is one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse

from model_core.options.models import ModelsInspectCommand, ModelsListCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "models",
        help="list the model families AVSOL Studio loads, or inspect a checkpoint file",
        description=("Published models as heads: list the supported families (built-in and "
                     "plugins), or inspect a checkpoint: its family, parameters, key differences, "
                     "expected inputs and the licence of the code re-implemented (docs/models.md)."),
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    actions.required = True
    lst = actions.add_parser("list", help="the supported model families, plugins included",
                             description="List the model families a checkpoint may belong to.")
    add_options(lst, ModelsListCommand)      # each action's options, declared once in model_core.options.models
    lst.set_defaults(func=run_list)
    ins = actions.add_parser("inspect", help="what a checkpoint file is and what it expects",
                             description="Detect a checkpoint's family and describe it (nothing in "
                                         "the file is executed: weights_only loading).")
    add_options(ins, ModelsInspectCommand)
    ins.set_defaults(func=run_inspect)
    parser.set_defaults(func=run_list)
    return parser


def run_list(args: argparse.Namespace) -> int:
    from model_core.models.loading import ENTRY_POINT_GROUP, registry

    reg = registry()
    print("dnm        AVSOL Studio's own heads (avc, cls, dnm)                        built-in")
    for key, fam in reg.families.items():
        print(f"{key:<10} {fam.title:<10} {fam.window_s:>4g} s  {fam.map_kind:<10}  "
              f"{fam.licence:<28} {reg.origin[key]}")
    for line in reg.problems:
        print(f"not usable: {line}")
    print(f"(plugins register families under the entry-point group {ENTRY_POINT_GROUP!r}: docs/models.md)")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from model_core.models.loading import inspect
    from model_core.options.spec import from_args

    cmd = from_args(ModelsInspectCommand, args)
    info = inspect(cmd.file, cmd.model_family)
    print(f"file:        {info['file']}")
    same = f" (same keys as {info['same_layout_as']}: choose with --model-family)" if info["same_layout_as"] else ""
    print(f"family:      {info['family']} ({info['title']}){same}")
    print(f"container:   {info['container']}")
    print(f"parameters:  {info['parameters']:,}")
    print(f"missing:     {len(info['missing'])}" + (f" ({', '.join(info['missing'][:10])})" if info["missing"] else ""))
    print(f"unexpected:  {len(info['unexpected'])}" + (f" ({', '.join(info['unexpected'][:10])})" if info["unexpected"] else ""))
    if info["ignored"]:
        print(f"ignored:     {len(info['ignored'])} keys not used at inference (e.g. {info['ignored'][0]})")
    print(f"inputs:      {info['inputs']}")
    print(f"licence:     {info['licence']} (the code re-implemented)" +
          (f", {info['repository']}" if info["repository"] else ""))
    print(f"weights:     {info['weights']}")
    return 0
