"""Options declared once: a dataclass field with an :class:`Opt` in its metadata.

A command's options are the fields of one dataclass. Each field that carries an
:class:`Opt` (made by :func:`option` or :func:`positional`) says everything the command
line, the checks and the viewer need to know about it: its help, default (the field's),
range or choices, and how its value is written as text. From that one declaration:

- :func:`add_options` builds the argparse arguments (help with the default, types that
  refuse a value out of range at parse time, choices, metavars, groups);
- :func:`from_args` builds the dataclass from the parsed namespace;
- :func:`problems` checks a dataclass built in code (a test, the viewer, a benchmark)
  against the same ranges, one message per bad value naming the option;
- :func:`to_argv` writes the command line that parses back into the same dataclass (the
  viewer's child processes), so an option the viewer sends always exists in the parser.

Fields without an :class:`Opt` are not options (values the command computes, such as a
training's resolved model settings). Plain dataclasses and argparse only, so that the
command line's ``--help`` and the viewer's start-up import nothing heavy.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import MISSING, dataclass
from typing import Any, Callable

from model_core.errors import InputError
from model_core.options.types import finite, integer

KINDS = (str, int, float, bool)


@dataclass(frozen=True)
class Opt:
    """How one field appears on the command line (see :func:`option`)."""

    help: str
    kind: type = str
    flag: str | None = None           # None: --field-name
    positional: bool = False
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple | None = None
    parse: Callable[[str], Any] | None = None    # text -> value; raises argparse.ArgumentTypeError
    text: Callable[[Any], str] | None = None     # value -> text that ``parse`` reads back
    metavar: str | tuple[str, ...] | None = None
    group: str | None = None
    nargs: int | str | None = None    # several values after one flag (or positional): a list
    one_of: str | None = None         # exactly one of the options with this name is given
    repeat: bool = False              # given once per value (a list)
    negate: bool = False              # a bool that is True unless --no-NAME is given
    hidden: bool = False              # accepted but not listed by --help (test hooks)


def option(default: Any = MISSING, *, help: str, kind: type | None = None, default_factory: Any = MISSING,
           **kw: Any) -> Any:
    """A dataclass field that is a ``--name`` option.

    ``kind`` is taken from the default when that is not None (bool, int, float, str);
    ``required=True`` (no default) makes the field one the command line must give.
    Further keywords are :class:`Opt`'s.
    """
    if kind is None:
        sample = default if default is not MISSING else None
        kind = type(sample) if type(sample) in KINDS else str
    meta = {"option": Opt(help=help, kind=kind, **kw)}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def positional(*, help: str, metavar: str | None = None, **kw: Any) -> Any:
    """A required dataclass field that is a positional argument (a path, mostly)."""
    return dataclasses.field(metadata={"option": Opt(help=help, positional=True, required=True,
                                                     metavar=metavar, **kw)})


def declared(cls_or_obj) -> list[tuple[dataclasses.Field, Opt]]:
    """The (field, Opt) pairs of a declaration, in declaration order."""
    return [(f, f.metadata["option"]) for f in dataclasses.fields(cls_or_obj) if "option" in f.metadata]


def listed(cls_or_obj) -> list[tuple[dataclasses.Field, Opt]]:
    """:func:`declared` in the order ``--help`` lists them and :func:`to_argv` writes them:
    the positionals and required options first (what a reader looks for first, also when a
    declaration extends another), then the rest in declaration order."""
    return sorted(declared(cls_or_obj), key=lambda fo: not (fo[1].positional or fo[1].required))


def flag_of(f: dataclasses.Field, o: Opt) -> str:
    """The option as typed: ``--batch-size`` for ``batch_size``, ``--no-flip`` for a negated
    ``flip``, the metavar of a positional."""
    if o.positional:
        if o.choices:
            return "{" + ",".join(map(str, o.choices)) + "}"
        return o.metavar if isinstance(o.metavar, str) else f.name.upper()
    if o.flag:
        return o.flag
    name = f.name.replace("_", "-")
    return f"--no-{name}" if o.negate else f"--{name}"


def default_of(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _argtype(o: Opt) -> Callable[[str], Any] | None:
    if o.parse is not None:
        return o.parse
    if o.kind is int:
        return integer(None if o.lo is None else int(o.lo), None if o.hi is None else int(o.hi))
    if o.kind is float:
        return finite(o.lo, o.hi, lo_open=o.lo_open, hi_open=o.hi_open)
    return None


def text_of(o: Opt, value: Any) -> str:
    """``value`` as the command line writes it (what the option's type reads back)."""
    if o.text is not None:
        return o.text(value)
    return repr(value) if isinstance(value, float) else str(value)


def _help(f: dataclasses.Field, o: Opt) -> str:
    if o.hidden:
        return argparse.SUPPRESS
    text = o.help
    default = default_of(f)
    shown_default = default is not MISSING and default is not None and default is not False
    if shown_default and not o.positional and not o.required and "default" not in text and not o.negate \
            and not o.repeat:
        shown = text_of(o, default) if o.kind is not float else f"{default:g}"
        text += f" (default {shown})"
    return text.replace("%", "%%")


def add_options(parser: argparse.ArgumentParser, cls: type) -> argparse.ArgumentParser:
    """Add the declared options of ``cls`` to ``parser`` (groups made on first use; the
    options of one ``one_of`` name form a required mutually exclusive group), in
    :func:`listed` order."""
    groups: dict[str, Any] = {}
    for f, o in listed(cls):
        if o.one_of is not None:
            target = groups.get("one_of " + o.one_of)
            if target is None:
                target = groups["one_of " + o.one_of] = parser.add_mutually_exclusive_group(required=True)
        elif o.group is None:
            target = parser
        else:
            target = groups.get(o.group)
            if target is None:
                target = groups[o.group] = parser.add_argument_group(o.group)
        kw: dict[str, Any] = {"help": _help(f, o)}
        if o.nargs is not None:
            kw["nargs"] = o.nargs
        if o.positional:
            kw.update(metavar=o.metavar, type=_argtype(o))
            if o.choices is not None:
                kw.update(choices=o.choices, metavar=None)
            target.add_argument(f.name, **{k: v for k, v in kw.items() if v is not None})
            continue
        if o.kind is bool:
            kw.update(dest=f.name, action="store_false" if o.negate else "store_true")
            target.add_argument(flag_of(f, o), **kw)
            continue
        kw.update(dest=f.name, type=_argtype(o), required=o.required)
        if o.repeat:
            kw["action"] = "append"
        else:
            default = default_of(f)
            kw["default"] = None if default is MISSING else default
        if o.choices is not None:
            kw["choices"] = o.choices
        if o.metavar is not None:
            kw["metavar"] = o.metavar
        target.add_argument(flag_of(f, o), **kw)
    return parser


def from_args(cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """``cls`` from a parsed namespace: its declared options, plus ``values`` (its fields
    that are not options, or options replaced)."""
    got = {f.name: getattr(args, f.name) for f, o in declared(cls) if hasattr(args, f.name)}
    for f, o in declared(cls):
        if o.repeat and got.get(f.name) is None:
            got[f.name] = []
    got.update(values)
    return cls(**got)


def project(cls: type, source: Any, **values: Any) -> Any:
    """A ``cls`` (a dataclass) with each field that ``source`` has of the same name, plus
    ``values``: how a command hands its options to the code that runs it without naming
    every field again."""
    kept = {f.name: getattr(source, f.name) for f in dataclasses.fields(cls)
            if f.init and hasattr(source, f.name) and f.name not in values}
    return cls(**kept, **values)


def describe(o: Opt) -> str:
    """The range of a numeric option in words: ``an integer >= 1 and <= 64``."""
    def num(x: float) -> str:
        return str(x) if isinstance(x, int) else f"{x:g}"

    what = "an integer" if o.kind is int else "a finite number"
    bounds = []
    if o.lo is not None:
        bounds.append(f"{'>' if o.lo_open else '>='} {num(o.lo)}")
    if o.hi is not None:
        bounds.append(f"{'<' if o.hi_open else '<='} {num(o.hi)}")
    return " ".join([what, " and ".join(bounds)]).strip()


def _in_range(o: Opt, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if o.kind is int and not isinstance(value, int):
        return False
    if not math.isfinite(value):
        return False
    if o.lo is not None and (value <= o.lo if o.lo_open else value < o.lo):
        return False
    if o.hi is not None and (value >= o.hi if o.hi_open else value > o.hi):
        return False
    return True


def problems(obj: Any) -> list[str]:
    """Every declared option of ``obj`` whose value the command line would refuse, one
    message each naming the option (empty when all are valid). None is "not given", which
    only a required option refuses."""
    out = []
    for f, o in declared(obj):
        value = getattr(obj, f.name)
        name = flag_of(f, o)
        if value is None or ((o.repeat or o.nargs is not None) and not value):
            if o.required:
                out.append(f"{name} is required")
            continue
        for v in (value if o.repeat or o.nargs is not None else [value]):
            if o.choices is not None and v not in o.choices:
                out.append(f"{name} must be one of {', '.join(map(str, o.choices))}, got {v!r}")
            elif o.kind in (int, float) and o.parse is None and not _in_range(o, v):
                out.append(f"{name} must be {describe(o)}, got {v!r}")
            elif o.kind is bool and not isinstance(v, bool):
                out.append(f"{name} must be true or false, got {v!r}")
            elif o.parse is not None:
                try:
                    o.parse(text_of(o, v))
                except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
                    out.append(f"{name}: {exc}")
    alternatives: dict[str, list[tuple[str, bool]]] = {}
    for f, o in declared(obj):
        if o.one_of is not None:
            alternatives.setdefault(o.one_of, []).append((flag_of(f, o), getattr(obj, f.name) is not None))
    for names in alternatives.values():
        if sum(given for _, given in names) != 1:
            out.append(f"exactly one of {', '.join(n for n, _ in names)} is required")
    return out


def check(obj: Any) -> None:
    """Raise one :class:`InputError` listing :func:`problems` (and the declaration's own
    ``problems()`` method, if it has one), before any work."""
    found = obj.problems() if hasattr(obj, "problems") else problems(obj)
    if found:
        raise InputError(None, "; ".join(found))


def to_argv(obj: Any, command: str | None = None) -> list[str]:
    """The command line (without the program) that parses back into ``obj``: the command's
    words (``command``, else the declaration's ``COMMAND``), the positionals, then every option
    whose value is not its default, in :func:`listed` order."""
    command = command if command is not None else getattr(obj, "COMMAND", None)
    head = command.split() if command else []       # a nested action: "models inspect"
    rest: list[str] = []
    for f, o in listed(obj):
        value = getattr(obj, f.name)
        if o.positional:
            head += [text_of(o, v) for v in value] if o.nargs is not None else [text_of(o, value)]
            continue
        if not o.required and value == default_of(f):
            continue
        flag = flag_of(f, o)
        if o.kind is bool:
            if bool(value) != bool(o.negate):
                rest.append(flag)
        elif o.repeat:
            for v in value:
                rest += _pair(flag, text_of(o, v))
        elif o.nargs is not None and value is not None:
            rest += [flag, *(text_of(o, v) for v in value)]
        elif value is not None:
            rest += _pair(flag, text_of(o, value))
    return head + rest


def _pair(flag: str, text: str) -> list[str]:
    """``--flag TEXT``, or ``--flag=TEXT`` when TEXT starts with a dash (argparse would take
    ``-1`` or ``-name`` for an option)."""
    return [f"{flag}={text}"] if text.startswith("-") else [flag, text]

