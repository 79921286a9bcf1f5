"""The options of the commands that read and write annotations and reports (``avsol
metrics``, ``compare``, ``import``, ``agreement``), declared once
(:mod:`model_core.options.spec`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from model_core.metrics.compare import DEFAULT_RESAMPLES, DEFAULT_SEED
from model_core.metrics.threshold import parse_rule
from model_core.options.spec import option, positional

#: The benchmarks ``avsol import`` converts.
IMPORT_SOURCES = ("vggss", "flickr")


@dataclass(kw_only=True)
class MetricsCommand:
    """Every option of ``avsol metrics``."""

    COMMAND: ClassVar[str] = "metrics"

    maps: str | None = option(None, one_of="source", metavar="MAPS.npz", help="maps file (SPEC 9)")
    report: str | None = option(None, one_of="source", metavar="REPORT.json",
                                help="rescore this report's items (their maps) under --threshold instead")
    annotations: str | None = option(None, metavar="AVSOL_E_JSON",
                                     help="AVSOL-E v1 annotation file (with --report: default, the report's)")
    out: str = option(required=True, metavar="REPORT.json", help="report to write")
    csv: str | None = option(None, metavar="F", help="also write the item table as CSV")
    allow_changed_annotations: bool = option(False, help="with --report: rescore even if the annotations changed "
                                                         "since the report was scored (their sha256 differs); the "
                                                         "change is recorded in the new report's meta and notes")
    head: str | None = option(None, metavar="NAME",
                              help="name of the maps in the report (default: the file's head, else its stem)")
    threshold: str = option("median", parse=parse_rule, metavar="RULE",
                            help="binary prediction of cIoU: median (default, the field's protocol), fixed:T (raw "
                                 "sigmoid map > T), top-gt (the |GT| highest pixels); a bare number T thresholds "
                                 "the normalised map")


@dataclass(kw_only=True)
class CompareCommand:
    """Every option of ``avsol compare``."""

    COMMAND: ClassVar[str] = "compare"

    reports: list[str] = positional(metavar="REPORT", nargs="+", help="report JSON (avsol eval / metrics)")
    out: str = option(required=True, metavar="COMPARE.json", help="file to write")
    resamples: int = option(DEFAULT_RESAMPLES, lo=100, hi=1_000_000, help="bootstrap resamples")
    seed: int = option(DEFAULT_SEED, lo=0, hi=2**32 - 1, help="bootstrap seed")
    allow_incomplete: bool = option(False, help="compare reports of cancelled / interrupted evaluations "
                                                "(meta.complete false) on the items they have")


@dataclass(kw_only=True)
class ImportCommand:
    """Every option of ``avsol import``."""

    COMMAND: ClassVar[str] = "import"

    source: str = positional(metavar="SOURCE", choices=IMPORT_SOURCES, help="benchmark the annotations come from")
    src: str = positional(metavar="SRC", help="vggss.json, or the folder of Flickr XML files")
    out: str = option(required=True, metavar="AVSOL_E_JSON", help="AVSOL-E file to write")
    videos: str | None = option(None, metavar="DIR",
                                help="folder of the media: names items as found there and counts the missing")


@dataclass(kw_only=True)
class AgreementCommand:
    """Every option of ``avsol agreement``."""

    COMMAND: ClassVar[str] = "agreement"

    annotations: str = positional(metavar="SET.json", help="AVSOL-E v1 file")
    annotators: list[str] | None = option(None, nargs=2, metavar=("A", "B"),
                                          help="the two annotators to compare (default: the first two in the set)")
    out: str | None = option(None, metavar="F.json", help="also write the figures as JSON")
