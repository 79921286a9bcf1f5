"""``avsol models``' options, declared once (:mod:`model_core.options.spec`): one
declaration per action (``models list``, ``models inspect``), whose ``COMMAND`` is the
words that select it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from model_core.options.spec import option, positional


@dataclass(kw_only=True)
class ModelsListCommand:
    """``avsol models list``: no options."""

    COMMAND: ClassVar[str] = "models list"


@dataclass(kw_only=True)
class ModelsInspectCommand:
    """Every option of ``avsol models inspect``."""

    COMMAND: ClassVar[str] = "models inspect"

    file: str = positional(metavar="FILE", help="checkpoint (.pt, .pth, .pth.tar)")
    model_family: str | None = option(None, metavar="NAME",
                                      help="force a family instead of detecting it (see 'avsol models list')")
