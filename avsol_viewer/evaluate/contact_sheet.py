"""A contact sheet of the worst items of a report: one tile per item with the frame, the
head's map, its thresholded region under the report's rule, the GT boxes and the numbers.

Drawn with numpy and OpenCV by the export's own drawing rules
(``avsol_viewer.core.export_render``), from the map each item row carries (no model
runs) and the frame decoded from the video the report names. The region outlined is the
binary prediction P the report's cIoU was computed from (``model_core.metrics.threshold``).
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from avsol_viewer.core.export_render import BACKGROUND, blend_overlay, draw_boxes, draw_contour, draw_label, draw_peak
from avsol_viewer.evaluate.report_source import ReportSource

TILE = 256          # tile height in pixels
COLS = 4


def worst_rows(report: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The first ``n`` scored rows with a map, in the report's order (worst first)."""
    return [r for r in report.get("items", []) if r.get("status") == "scored" and r.get("map")][:max(0, n)]


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
                         source: ReportSource | None = None) -> np.ndarray:
    """The sheet as an RGB uint8 array (``ValueError`` if no item has a map)."""
    from avsol_viewer.maps.colormaps import overlay_lut
    from model_core.metrics.threshold import canonical

    rows = worst_rows(report, n)
    if not rows:
        raise ValueError("no scored item with a map in this report")
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
    return out


def save_contact_sheet(report: dict[str, Any], path: str | os.PathLike, n: int = 16,
                       source: ReportSource | None = None) -> int:
    """Write the sheet of the ``n`` worst items as PNG (atomically); returns the tile count.

    Checked first like every output (``InputError``): never over the report's annotations,
    videos or checkpoints or any media file but an earlier image of ours (it carries our
    mark, ``input_protection.mark_image``)."""
    import cv2

    from model_core.atomic import write_bytes
    from model_core.input_protection import mark_image
    from model_core.outputs import check_writable_output, meta_inputs

    path = check_writable_output(path, "image", meta_inputs(report.get("meta")), label="the contact sheet")
    img = render_contact_sheet(report, n, source=source)
    ok, buf = cv2.imencode(".png", img[..., ::-1])
    if not ok:
        raise ValueError("PNG encoding failed")
    write_bytes(path, mark_image(buf.tobytes()))
    return len(worst_rows(report, n))


__all__ = ["item_heads", "read_frame", "render_contact_sheet", "save_contact_sheet", "worst_rows"]
