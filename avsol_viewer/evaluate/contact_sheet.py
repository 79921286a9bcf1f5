"""A contact sheet of the worst items of a report: one tile per item with the frame, the
head's map, its thresholded region under the report's rule, the GT boxes and the numbers.

Drawn with numpy and OpenCV by the export's own drawing rules
(``avsol_viewer.export.export_render``), from the map each item row carries (no model
runs) and the frame decoded from the video the report names. The region outlined is the
binary prediction P the report's cIoU was computed from (``model_core.metrics.threshold``).

"Worst" means lowest cIoU first, sorted here (a report's rows are in video order, which
says nothing about quality); items without a cIoU (no sounding box) are not in it. A
header names what the sheet is: the report (data set, heads), the threshold rule, when it
was evaluated, how many of how many items, and the scale the maps are drawn on.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from avsol_viewer.export.export_render import BACKGROUND, blend_overlay, draw_boxes, draw_contour, draw_label, draw_peak
from avsol_viewer.evaluate.report_source import ReportSource

TILE = 256          # tile height in pixels
COLS = 4


def _ciou(row: dict[str, Any]) -> float | None:
    c = row.get("ciou")
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
        return None
    return float(c)


def scored_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a sheet can show: scored, with a map and a cIoU."""
    return [r for r in report.get("items", []) if isinstance(r, dict) and r.get("status") == "scored"
            and r.get("map") and _ciou(r) is not None]


def worst_rows(report: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The ``n`` scored rows with a map and the lowest cIoU, lowest first (ties: the
    report's order)."""
    return sorted(scored_rows(report), key=_ciou)[:max(0, n)]


def header_lines(report: dict[str, Any], shown: int, name: str | None = None) -> list[str]:
    """The sheet's header (ASCII: OpenCV's fonts have no other glyphs): which report, which
    rule, when, and what the tiles are."""
    from model_core.metrics.threshold import canonical

    meta = report.get("meta", {}) if isinstance(report.get("meta"), dict) else {}
    what = name or (Path(str(meta["data"])).name if meta.get("data") else "report")
    heads = ", ".join(str(h) for h in (report.get("heads") or {}))
    date = str(meta.get("date") or "date unknown").replace("T", " ")
    first = f"{what}" + (f" - heads {heads}" if heads else "") + f" - evaluated {date}"
    rule = canonical(meta.get("threshold"))
    second = (f"worst {shown} of {len(scored_rows(report))} items by cIoU (lowest first) - threshold "
              f"rule {rule} (white outline) - maps on the absolute scale (sigmoid 0..1)")
    return [_ascii(first), _ascii(second)]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _header(width: int, lines: list[str]) -> np.ndarray:
    """A strip at least ``width`` pixels wide (wider when the text needs it) with ``lines``."""
    import cv2

    scale, th, line_h = 0.5, 1, 20
    need = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, th)[0][0] for t in lines) + 12
    width = max(width, need)
    strip = np.empty((line_h * len(lines) + 10, width, 3), np.uint8)
    strip[...] = BACKGROUND
    for k, text in enumerate(lines):
        cv2.putText(strip, text, (6, 18 + k * line_h), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), th,
                    cv2.LINE_AA)
    return strip


def read_frame(source: ReportSource, row: dict[str, Any]) -> np.ndarray | None:
    """The RGB frame an item was scored on, or None if it cannot be decoded."""
    from model_core.media.frames import VideoReader

    path = source.video_path(row["video"])
    if path is None:
        return None
    try:
        reader = VideoReader(path)
        try:
            return reader.read_at_index(reader.index_at_time(float(row["time"])))
        finally:
            reader.close()
    except Exception:  # noqa: BLE001 - a tile without its frame still says the numbers
        return None


def _tile(row: dict[str, Any], source: ReportSource, rule: str, lut: np.ndarray,
          frame: np.ndarray | None = None, label: str | None = None) -> np.ndarray:
    """One item: its frame (read unless given), the head's map, the rule's region (white
    outline), GT boxes, peak and a label (default: head, video, time, cIoU, failure)."""
    import cv2

    from avsol_viewer.core.map_display import prepare
    from model_core.metrics.items import decode_map
    from model_core.metrics.masks import gt_map, minmax_normalise, resize_maps
    from model_core.metrics.threshold import binarize_rule

    seg = source.segment(row)
    if frame is None:
        frame = read_frame(source, row)
    if frame is None:
        frame = np.zeros((TILE, TILE, 3), np.uint8)
    frame = cv2.resize(frame, (max(2, int(round(frame.shape[1] * TILE / frame.shape[0]))), TILE),
                       interpolation=cv2.INTER_AREA)
    raw = decode_map(row["map"])
    dm = prepare(raw)
    img = blend_overlay(frame, dm.values, lut)
    big = resize_maps(raw[None])
    gt = gt_map(seg)[None] if seg is not None else np.zeros_like(big)
    pred = binarize_rule(rule, minmax_normalise(big), big, gt)[0]
    draw_contour(img, pred.astype(np.float32), 0.5)
    draw_boxes(img, seg)
    if dm.peak is not None:
        draw_peak(img, dm.peak)
    c = row.get("ciou")
    if label is None:
        label = f"{row['head']} {row['video']} {row['time']:.2f}s cIoU {'n/a' if c is None else f'{c:.2f}'} " \
                f"{row.get('failure') or ''}"
    draw_label(img, label)
    return img


def item_heads(report: dict[str, Any], row: dict[str, Any], source: ReportSource | None = None) -> np.ndarray | None:
    """Every head's tile on the item of ``row`` (same video and segment), side by side,
    under the report's threshold rule; None when no head has a map for it."""
    from avsol_viewer.maps.colormaps import overlay_lut
    from model_core.metrics.threshold import canonical

    same = [r for r in report.get("items", []) if r.get("video") == row.get("video")
            and r.get("start") == row.get("start") and r.get("status") == "scored" and r.get("map")]
    if not same:
        return None
    source = source or ReportSource(report)
    rule = canonical(report.get("meta", {}).get("threshold"))
    lut = overlay_lut("inferno", 0.6)
    frame = read_frame(source, row)
    order = list(report.get("heads", {}))
    same.sort(key=lambda r: order.index(r["head"]) if r["head"] in order else len(order))
    tiles = []
    for r in same:
        c = r.get("ciou")
        tiles.append(_tile(r, source, rule, lut, frame,
                           f"{r['head']} cIoU {'n/a' if c is None else f'{c:.2f}'} {r.get('failure') or ''}"))
    gap = np.empty((TILE, 4, 3), np.uint8)
    gap[...] = BACKGROUND
    parts = []
    for t in tiles:
        parts += [t, gap]
    return np.ascontiguousarray(np.concatenate(parts[:-1], axis=1))


def render_contact_sheet(report: dict[str, Any], n: int = 16, cols: int = COLS,
                         source: ReportSource | None = None, name: str | None = None) -> np.ndarray:
    """The sheet as an RGB uint8 array under its header (``ValueError`` if no item has a
    map and a cIoU); ``name`` names the report in the header (default: its data set)."""
    from avsol_viewer.maps.colormaps import overlay_lut
    from model_core.metrics.threshold import canonical

    rows = worst_rows(report, n)
    if not rows:
        raise ValueError("no scored item with a map and a cIoU in this report")
    source = source or ReportSource(report)
    rule = canonical(report.get("meta", {}).get("threshold"))
    lut = overlay_lut("inferno", 0.6)
    tiles = [_tile(r, source, rule, lut) for r in rows]
    w = max(t.shape[1] for t in tiles)
    cols = min(cols, len(tiles))
    nrows = math.ceil(len(tiles) / cols)
    pad = 4
    out = np.empty((nrows * (TILE + pad) + pad, cols * (w + pad) + pad, 3), np.uint8)
    out[...] = BACKGROUND
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = pad + r * (TILE + pad), pad + c * (w + pad)
        out[y:y + TILE, x:x + t.shape[1]] = t
    head = _header(out.shape[1], header_lines(report, len(rows), name))
    if head.shape[1] > out.shape[1]:  # a narrow sheet widens to its header
        wide = np.empty((out.shape[0], head.shape[1], 3), np.uint8)
        wide[...] = BACKGROUND
        wide[:, :out.shape[1]] = out
        out = wide
    return np.ascontiguousarray(np.concatenate([head, out]))


def save_contact_sheet(report: dict[str, Any], path: str | os.PathLike, n: int = 16,
                       source: ReportSource | None = None, name: str | None = None) -> int:
    """Write the sheet of the ``n`` worst items as PNG (atomically); returns the tile count.

    Checked first like every output (``InputError``): never over the report's annotations,
    videos or checkpoints or any media file but an earlier image of ours (it carries our
    mark, ``input_protection.mark_image``)."""
    import cv2

    from model_core.atomic import write_bytes
    from model_core.input_protection import mark_image
    from model_core.input_protection import meta_inputs
    from model_core.outputs.checks import check_writable_output

    path = check_writable_output(path, "image", meta_inputs(report.get("meta")), label="the contact sheet")
    img = render_contact_sheet(report, n, source=source, name=name)
    ok, buf = cv2.imencode(".png", img[..., ::-1])
    if not ok:
        raise ValueError("PNG encoding failed")
    write_bytes(path, mark_image(buf.tobytes()))
    return len(worst_rows(report, n))


__all__ = ["item_heads", "read_frame", "render_contact_sheet", "save_contact_sheet", "worst_rows"]
