"""The report's schema: one field table that both validates a report when it is read and
is published as JSON Schema (``docs/report.schema.json``, ``docs/compare.schema.json``).

Why hand-written rather than pydantic / jsonschema: neither is installed, a report is a
flat table of rows with a few dozen typed fields, and what a user needs from a bad
report is the AVSOL-E reader's kind of message - one line naming the first bad field
(``items[3].map: not valid base64``) - which a 40-line walker over the field table gives
exactly, at no import cost for the viewer's start-up. The JSON Schema is *generated* from
the same table (``python -m model_core.metrics.report_schema --write docs``) and a test
keeps the published files equal to it, so the two cannot drift.

Policy (:func:`check_report`):

- the header (``format``, ``version``, ``meta``, ``notes``, ``heads``, the shape of
  ``items``) must be right, else the report is refused (:class:`InputError` naming the
  file and the first bad field): its summaries and provenance cannot be trusted;
- an item row with a bad field is *marked*: :func:`check_report` returns
  ``{row index: problem}``; the CLI refuses such a report with the first problem
  (:func:`read_report` ``strict``), the viewer shows the rows flagged and leaves them out
  of the metrics (:func:`usable_report`).

Versions: 1 (no provenance digests) and 2 (``meta.annotations_sha256``, per checkpoint
``sha256``) are read; anything newer is refused by name, never half-understood.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from typing import Any

from model_core.errors import InputError

FORMAT = "avsol-report"
#: 2: meta carries the sha256 digests of the annotations (and maps / checkpoints).
VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
COMPARE_FORMAT = "avsol-compare"
COMPARE_VERSION = 1
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAP_PATTERN = r"^[0-9]+x[0-9]+:[A-Za-z0-9+/]*={0,2}$"
#: the largest map a row may carry (side, in cells): a crafted "100000x100000:" is refused
#: before numpy is asked for it.
MAP_SIDE_MAX = 1024

# A field: (key, type, required, extra). type: "string", "number", "integer", "boolean",
# "enum", "map", "sha256", "object", "array", "rule". extra: {"min", "max", "enum",
# "nullable"}. Unknown keys are allowed everywhere (a newer minor writer may add some).
_UNIT = {"min": 0.0, "max": 1.0}


def _row_fields() -> tuple:
    from model_core.metrics.items import SIZE_BUCKETS
    from model_core.metrics.taxonomy import LABELS

    n = {"nullable": True}
    return (
        ("video", "string", True, {}),
        ("time", "number", True, {"min": 0.0}),
        ("head", "string", True, {}),
        ("start", "number", True, {"min": 0.0}),
        ("end", "number", True, {"min": 0.0}),
        ("status", "enum", True, {"enum": ("scored", "missing", "failed")}),
        ("kind", "enum", True, {"enum": ("event", "background")}),
        ("error", "string", False, n),
        ("class", "string", False, n),
        ("area", "number", False, {**n, **_UNIT}),
        ("size", "enum", False, {**n, "enum": tuple(name for name, _ in SIZE_BUCKETS)}),
        ("ciou", "number", False, {**n, **_UNIT}),
        ("hit", "boolean", False, n),
        ("failure", "enum", False, {**n, "enum": tuple(LABELS)}),
        ("p_avc", "number", False, {**n, **_UNIT}),
        ("pixel_ap", "number", False, {**n, **_UNIT}),
        ("pixel_roc_auc", "number", False, {**n, **_UNIT}),
        ("peak_silent", "boolean", False, n),
        ("map_silent", "number", False, {**n, **_UNIT}),
        ("map_sounding", "number", False, {**n, **_UNIT}),
        ("pred_class", "string", False, n),
        ("class_correct", "boolean", False, n),
        ("silent_audio", "boolean", False, n),
        ("map", "map", False, n),
        ("crop", "crop", False, n),
        ("negatives", "negatives", False, n),
        # rescored against corrected annotations: this item's ground truth changed (rescore.py)
        ("gt_changed", "boolean", False, n),
    )


#: the numbers of a head summary (and of its per-class / per-size parts)
_RATES = ("ciou@0.5", "auc", "pointing", "pixel_ap", "pixel_roc_auc", "mean_ciou")
_COUNTS = ("n_localized", "n_items", "n_no_gt", "n_background", "n_missing", "n_failed", "n_total")


def _summary_fields() -> tuple:
    n = {"nullable": True}
    return tuple((k, "number", False, {**n, **_UNIT}) for k in _RATES) + \
        tuple((k, "integer", False, {"min": 0}) for k in _COUNTS)


def _checkpoint_fields() -> tuple:
    n = {"nullable": True}
    return (("name", "string", True, {}), ("path", "string", False, n), ("head", "string", False, n),
            # a string, not pinned to 64 hex digits: loaders (and tests' fakes) name their own fingerprint
            ("sha256", "string", False, n), ("classes", "integer", False, {**n, "min": 0}),
            # what computed the maps (model_core.inference.backends); absent from older reports
            ("backend", "string", False, n), ("precision", "string", False, n))


def _meta_fields() -> tuple:
    n = {"nullable": True}
    return (("command", "string", False, n), ("date", "string", False, n),
            ("annotations", "string", False, n), ("annotations_sha256", "sha256", False, n),
            ("data", "string", False, n), ("maps", "string", False, n), ("maps_sha256", "sha256", False, n),
            ("threshold", "rule", False, n), ("rescored_from", "rule", False, n),
            ("complete", "boolean", False, n), ("videos_total", "integer", False, {**n, "min": 0}),
            ("videos_done", "integer", False, {**n, "min": 0}),
            ("checkpoints", "checkpoints", False, n), ("negatives", "object", False, n),
            # rescored against changed annotations: {was, now} sha256, and {was_file, items, how}
            # of the items marked gt_changed (model_core.metrics.rescore)
            ("annotations_changed", "object", False, n), ("gt_changed", "object", False, n))


# -- checking one value ------------------------------------------------------------------
def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_value(v: Any, typ: str, extra: dict) -> str | None:
    """Why ``v`` is not a valid value of a field (None if it is). Never raises."""
    if v is None:
        return None if extra.get("nullable") else "is null"
    if typ in ("string", "rule"):
        if not isinstance(v, str):
            return "not a string"
        if typ == "rule":
            from model_core.metrics.threshold import canonical

            try:
                canonical(v)
            except ValueError as exc:
                return f"not a threshold rule ({exc})"
        return None
    if typ in ("number", "integer"):
        if not _is_num(v):
            return "not a number" if typ == "number" else "not an integer"
        if typ == "integer" and not isinstance(v, int):
            return "not an integer"
        if isinstance(v, float) and not math.isfinite(v):
            return "not a finite number"
        lo, hi = extra.get("min"), extra.get("max")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if hi is None:
                return f"{v:g} is below {lo:g}"
            return f"{v:g} is out of range [{lo:g}, {hi:g}]" if lo is not None else f"{v:g} is above {hi:g}"
        return None
    if typ == "boolean":
        return None if isinstance(v, bool) else "not true or false"
    if typ == "enum":
        return None if isinstance(v, str) and v in extra["enum"] else \
            f"not one of {', '.join(extra['enum'])}"
    if typ == "sha256":
        return None if isinstance(v, str) and SHA256.match(v) else "not a sha256 digest (64 hex digits)"
    if typ == "object":
        return None if isinstance(v, dict) else "not an object"
    if typ == "map":
        return _check_map(v)
    if typ == "crop":
        ok = (isinstance(v, list) and len(v) == 4
              and all(isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c <= 1 for c in v))
        return None if ok and v[0] < v[2] and v[1] < v[3] else "not [x0, y0, x1, y1] fractions with x0 < x1, y0 < y1"
    if typ == "negatives":
        return _check_negatives(v)
    if typ == "checkpoints":
        if not isinstance(v, list):
            return "not a list"
        for i, c in enumerate(v):
            if not isinstance(c, dict):
                return f"[{i}]: not an object"
            why = check_fields(c, _checkpoint_fields())
            if why:
                return f"[{i}].{why}"
        return None
    return f"unknown field type {typ}"                        # pragma: no cover - a table bug


def _check_map(v: Any) -> str | None:
    if not isinstance(v, str):
        return "not a string"
    shape, sep, data = v.partition(":")
    m = re.fullmatch(r"([0-9]{1,6})x([0-9]{1,6})", shape)
    if not sep or m is None:
        return "not an encoded map (HxW:base64)"
    h, w = int(m.group(1)), int(m.group(2))
    if not (0 < h <= MAP_SIDE_MAX and 0 < w <= MAP_SIDE_MAX):
        return f"map shape {h}x{w} is out of range (1..{MAP_SIDE_MAX} a side)"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "not valid base64"
    if len(raw) != 4 * h * w:
        return f"holds {len(raw)} bytes, a {h}x{w} float32 map needs {4 * h * w}"
    return None


def _check_negatives(v: Any) -> str | None:
    from model_core.metrics.negatives import ITEM_KEYS

    if not isinstance(v, dict):
        return "not an object"
    for name, entry in v.items():
        if not isinstance(entry, dict):
            return f"{name}: not an object"
        for k in ITEM_KEYS:
            why = check_value(entry.get(k), "number", {"nullable": True, **_UNIT})
            if why:
                return f"{name}.{k}: {why}"
    return None


def check_fields(obj: dict, table: tuple) -> str | None:
    """``"KEY: problem"`` of the first bad field of ``obj`` under ``table``, or None."""
    for key, typ, required, extra in table:
        if key not in obj:
            if required:
                return f"{key}: missing"
            continue
        why = check_value(obj[key], typ, extra)
        if why:
            return f"{key}: {why}"
    return None


def check_row(row: Any, heads: Any = None) -> str | None:
    """Why one item row is invalid (``"ciou: not a number"``), or None. ``heads``: the
    report's head names, which a row's ``head`` must be one of."""
    if not isinstance(row, dict):
        return "not an object"
    why = check_fields(row, ROW_FIELDS)
    if why:
        return why
    if row["end"] < row["start"]:
        return f"end: {row['end']:g} is before start {row['start']:g}"
    if heads is not None and row["head"] not in heads:
        return f"head: {row['head']!r} is not one of the report's heads"
    return None


# -- the whole report --------------------------------------------------------------------
def check_header(doc: Any) -> str | None:
    """The first problem of the report's header (everything but the item rows' fields)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return "not an AVSOL report (no 'format': 'avsol-report')"
    v = doc.get("version")
    if not _is_num(v) or v not in SUPPORTED_VERSIONS:
        return (f"version: report format version {v!r} is not supported (this avsol reads "
                f"{', '.join(map(str, SUPPORTED_VERSIONS))}): update avsol")
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        return "meta: not an object"
    why = check_fields(meta, META_FIELDS)
    if why:
        return f"meta.{why}"
    notes = doc.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return "notes: not a list of strings"
    heads = doc.get("heads")
    if not isinstance(heads, dict):
        return "heads: missing or not an object"
    for name, h in heads.items():
        if not isinstance(h, dict):
            return f"heads.{name}: not an object"
        why = check_fields(h, SUMMARY_FIELDS)
        if why:
            return f"heads.{name}.{why}"
        for part in ("per_class", "per_size"):
            sub = h.get(part, {})
            if not isinstance(sub, dict):
                return f"heads.{name}.{part}: not an object"
            for k, s in sub.items():
                why = "not an object" if not isinstance(s, dict) else check_fields(s, SUMMARY_FIELDS)
                if why:
                    return f"heads.{name}.{part}.{k}" + (f".{why}" if isinstance(s, dict) else f": {why}")
        for part in ("failures", "background", "silent", "classification", "negatives"):
            if part in h and not isinstance(h[part], dict):
                return f"heads.{name}.{part}: not an object"
    if not isinstance(doc.get("items"), list):
        return "items: missing or not a list"
    return None


def check_report(doc: Any, path: str | os.PathLike | None = None) -> dict[int, str]:
    """Validate a report (module docstring): ``InputError`` naming ``path`` and the first
    bad header field; else ``{row index: "items[i].field: problem"}`` of the bad rows."""
    why = check_header(doc)
    if why:
        raise InputError(path, why)
    heads = set(doc["heads"])
    bad = {}
    for i, row in enumerate(doc["items"]):
        why = check_row(row, heads)
        if why:
            bad[i] = f"items[{i}]" + (f".{why}" if isinstance(row, dict) else f": {why}")
    return bad


def load_json(path: str | os.PathLike, what: str = "report") -> Any:
    """A JSON file as Python data; ``InputError`` naming the file for every way it can fail
    (unreadable, not UTF-8, not JSON, nested too deeply for the parser)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(path, f"not a JSON {what}: not UTF-8 text") from None
    except RecursionError:
        raise InputError(path, f"not a JSON {what}: nested too deeply") from None
    except ValueError as exc:
        raise InputError(path, f"not a JSON {what}: not JSON ({exc})") from None


def read_report(path: str | os.PathLike, strict: bool = True) -> tuple[dict[str, Any], dict[int, str]]:
    """Read and validate a report: ``(report, bad rows)``.

    ``strict`` (the CLI): a bad item row is an ``InputError`` naming the first one - numbers
    computed from a hand-edited row would be silently wrong. Not strict (the viewer): the
    bad rows come back to be shown marked (:func:`usable_report`)."""
    doc = load_json(path)
    bad = check_report(doc, path)
    if strict and bad:
        first = next(iter(bad.values()))
        more = f" (and {len(bad) - 1} more bad item row{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        raise InputError(path, first + more)
    return doc, bad


def usable_report(doc: dict[str, Any], bad: dict[int, str]) -> dict[str, Any]:
    """``doc`` without its bad rows: the head summaries recomputed from the good rows (the
    stored ones counted the bad rows), and a note naming the first bad field. ``doc``
    itself when every row is good."""
    if not bad:
        return doc
    from model_core.metrics.items import ItemResult
    from model_core.metrics.report import head_summary

    good = [r for i, r in enumerate(doc["items"]) if i not in bad]
    by_head: dict[str, list] = {h: [] for h in doc["heads"]}
    for r in good:
        by_head[r["head"]].append(ItemResult.from_row(r))
    note = (f"{len(bad)} invalid item row(s) left out of the metrics; first: {next(iter(bad.values()))}")
    out = dict(doc)
    out["heads"] = {h: head_summary(items) for h, items in by_head.items()}
    out["items"] = good
    out["notes"] = [note] + list(doc.get("notes", []))
    return out


def sanitized_row(row: Any, problem: str) -> dict[str, Any]:
    """A bad row made safe to show: its valid identifying fields, ``status`` ``invalid``
    and the problem as its ``error``."""
    out: dict[str, Any] = {"status": "invalid", "error": problem}
    if isinstance(row, dict):
        for key, typ, _, extra in ROW_FIELDS:
            if key in ("video", "time", "head", "start", "end", "class", "size", "kind") and key in row \
                    and check_value(row[key], typ, extra) is None:
                out[key] = row[key]
    return out


ROW_FIELDS = _row_fields()
SUMMARY_FIELDS = _summary_fields()
META_FIELDS = _meta_fields()


# -- the published JSON Schema -----------------------------------------------------------
def _json_type(typ: str, extra: dict) -> dict[str, Any]:
    base: dict[str, Any]
    if typ in ("string", "rule"):
        base = {"type": "string"}
    elif typ in ("number", "integer"):
        base = {"type": typ}
        if extra.get("min") is not None:
            base["minimum"] = extra["min"]
        if extra.get("max") is not None:
            base["maximum"] = extra["max"]
    elif typ == "boolean":
        base = {"type": "boolean"}
    elif typ == "enum":
        base = {"enum": list(extra["enum"])}
    elif typ == "sha256":
        base = {"type": "string", "pattern": SHA256.pattern}
    elif typ == "map":
        base = {"type": "string", "pattern": MAP_PATTERN,
                "description": "HxW float32 little-endian map, base64"}
    elif typ == "crop":
        base = {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                "minItems": 4, "maxItems": 4,
                "description": "the part of the frame the map covers: x0, y0, x1, y1 fractions"}
    elif typ == "negatives":
        base = {"type": "object", "additionalProperties": {"$ref": "#/$defs/negative"}}
    elif typ == "checkpoints":
        base = {"type": "array", "items": {"$ref": "#/$defs/checkpoint"}}
    else:
        base = {"type": "object"}
    if extra.get("nullable"):
        if "enum" in base:
            base = {"enum": base["enum"] + [None]}
        elif "type" in base:
            base["type"] = [base["type"], "null"]
    return base


def _object(table: tuple) -> dict[str, Any]:
    return {"type": "object",
            "properties": {k: _json_type(t, e) for k, t, _, e in table},
            "required": [k for k, _, r, _ in table if r]}


def report_schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12), from the tables above."""
    from model_core.metrics.negatives import ITEM_KEYS

    summary = _object(SUMMARY_FIELDS)
    head = {**summary, "properties": {**summary["properties"],
                                      "per_class": {"type": "object", "additionalProperties": summary},
                                      "per_size": {"type": "object", "additionalProperties": summary}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://avsol.example/report.schema.json",
        "title": "AVSOL report (avsol eval / avsol metrics / rescored)",
        "description": "Generated by model_core.metrics.report_schema; numbers are finite. "
                       "Readers refuse a bad header and mark bad item rows.",
        "type": "object",
        "required": ["format", "version", "heads", "items"],
        "properties": {
            "format": {"const": FORMAT},
            "version": {"enum": list(SUPPORTED_VERSIONS)},
            "meta": _object(META_FIELDS),
            "notes": {"type": "array", "items": {"type": "string"}},
            "heads": {"type": "object", "additionalProperties": {"$ref": "#/$defs/head"}},
            "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
        },
        "$defs": {
            "item": _object(ROW_FIELDS),
            "head": head,
            "checkpoint": _object(_checkpoint_fields()),
            "negative": {"type": "object", "properties": {
                k: _json_type("number", {"nullable": True, **_UNIT}) for k in ITEM_KEYS}},
        },
    }


def compare_schema() -> dict[str, Any]:
    """The JSON Schema of ``avsol compare``'s output (its top level and intervals)."""
    num = {"type": ["number", "null"]}
    interval = {"type": "object", "required": ["diff", "ci", "n"],
                "properties": {"a": num, "b": num, "diff": num,
                               "ci": {"type": "array", "items": num, "minItems": 2, "maxItems": 2},
                               "n": {"type": "integer", "minimum": 0}, "excludes_zero": {"type": "boolean"}}}
    pair = {"type": "object", "required": ["a", "b", "n_items", "metrics"],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                           "n_items": {"type": "integer", "minimum": 0},
                           "metrics": {"type": "object", "additionalProperties": {"$ref": "#/$defs/interval"}}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://avsol.example/compare.schema.json",
        "title": "AVSOL compare (avsol compare)",
        "description": "Generated by model_core.metrics.report_schema.",
        "type": "object",
        "required": ["format", "version", "bootstrap", "models", "pairs", "kinds", "kind_pairs"],
        "properties": {
            "format": {"const": COMPARE_FORMAT},
            "version": {"const": COMPARE_VERSION},
            "bootstrap": {"type": "object", "required": ["resamples", "seed", "confidence"]},
            "models": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["report", "head", "kind", "n_items"],
                "properties": {"annotations_sha256": _json_type("sha256", {"nullable": True})}}},
            "pairs": {"type": "array", "items": {"$ref": "#/$defs/pair"}},
            "kinds": {"type": "object"},
            "kind_pairs": {"type": "array", "items": {"$ref": "#/$defs/pair"}},
            "meta": {"type": "object"},
        },
        "$defs": {"interval": interval, "pair": pair},
    }


SCHEMA_FILES = {"report.schema.json": report_schema, "compare.schema.json": compare_schema}


def schema_text(make) -> str:
    """The published text of a schema (stable: sorted keys, 2-space indent)."""
    return json.dumps(make(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m model_core.metrics.report_schema --write docs``: (re)publish the schemas."""
    import argparse

    from model_core.atomic import write_text

    p = argparse.ArgumentParser(description="write the report and compare JSON Schemas")
    p.add_argument("--write", metavar="DIR", required=True)
    args = p.parse_args(argv)
    for name, make in SCHEMA_FILES.items():
        write_text(os.path.join(args.write, name), schema_text(make))
        print(os.path.join(args.write, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["FORMAT", "SUPPORTED_VERSIONS", "VERSION", "check_header", "check_report", "check_row",
           "check_value", "compare_schema", "load_json", "read_report", "report_schema",
           "sanitized_row", "usable_report"]
