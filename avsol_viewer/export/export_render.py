"""Pictures of the exported overlay video, drawn with numpy and OpenCV (no Qt, no model).

The export must show what the view shows, so it reproduces the view's drawing rules rather
than grabbing widgets (which would tie the export to the window's size and to the GUI
thread):

- the map is the view's :class:`~avsol_viewer.core.map_display.DisplayMap` (224 x 224, the
  metrics' grid), coloured by the same 256-entry RGBA table
  (:func:`~avsol_viewer.maps.colormaps.overlay_lut`): pyqtgraph indexes the table with
  ``clip(trunc(value * 256), 0, 255)`` for levels (0, 1), and Qt stretches the coloured
  grid over the frame without smoothing (nearest neighbour) and blends it "source over":
  ``out = frame * (1 - a) + colour * a``;
- the threshold contour (white), the peak (cyan cross) and the annotation boxes (sounding
  green, silent light blue) as in ``frame_view``;
- side by side, the plain frame first and then each head, in a grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avsol_viewer.core.map_display import DisplayMap

CONTOUR_RGB = (255, 255, 255)
PEAK_RGB = (0, 255, 255)
SOUNDING_RGB = (60, 230, 90)
SILENT_RGB = (140, 200, 255)
LABEL_BG = (30, 31, 34)
BACKGROUND = (30, 31, 34)


@dataclass(frozen=True)
class RenderOptions:
    """The display choices an export follows (the view's ``DisplayOptions`` by duck typing)."""

    threshold: float = 0.5
    contour: bool = True
    peak: bool = True
    boxes: bool = True
    scale: str = "per_frame"
    labels: bool = True

    @classmethod
    def like(cls, display_options, labels: bool = True) -> "RenderOptions":
        """The options of the view (an object with the same attribute names)."""
        o = display_options
        return cls(float(o.threshold), bool(o.contour), bool(o.peak), bool(o.boxes), str(o.scale), labels)


def lut_indices(values: np.ndarray) -> np.ndarray:
    """Row of the 256-entry table for each value, as pyqtgraph picks it for levels (0, 1)."""
    v = np.nan_to_num(np.asarray(values, np.float32)) * np.float32(256.0)
    return np.clip(v, 0, 255).astype(np.uint8)


def blend_overlay(frame: np.ndarray, values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``frame`` (H x W x 3 uint8 RGB) with the map ``values`` (any grid, in [0, 1]) coloured
    by ``lut`` (256 x 4 RGBA), stretched over it without smoothing and alpha-blended."""
    import cv2

    h, w = frame.shape[:2]
    rgba = np.asarray(lut, np.uint8)[lut_indices(values)]
    big = cv2.resize(rgba, (w, h), interpolation=cv2.INTER_NEAREST)
    a = big[..., 3:4].astype(np.uint16)
    out = frame.astype(np.uint16) * (255 - a) + big[..., :3].astype(np.uint16) * a
    return ((out + 127) // 255).astype(np.uint8)


def _thickness(img: np.ndarray) -> int:
    return max(1, int(round(img.shape[0] / 360)))


def draw_contour(img: np.ndarray, values: np.ndarray, level: float) -> None:
    """Outline of ``values >= level`` (grid pixel centres, as ``frame_view.contour_path``)."""
    import cv2

    mask = np.ascontiguousarray(values >= level, dtype=np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return
    gh, gw = values.shape
    h, w = img.shape[:2]
    shift = 4  # sub-pixel precision of cv2's drawing (1/16 pixel)
    scale = np.array([w / gw, h / gh]) * (1 << shift)
    pts = [np.round((c[:, 0, :].astype(np.float64) + 0.5) * scale).astype(np.int32) for c in contours]
    cv2.polylines(img, pts, True, CONTOUR_RGB, _thickness(img), cv2.LINE_AA, shift)


def draw_peak(img: np.ndarray, peak: tuple[float, float]) -> None:
    """A cross on the peak (``peak`` in fractions of the frame)."""
    import cv2

    h, w = img.shape[:2]
    size = max(9, int(round(h / 20)))
    cv2.drawMarker(img, (int(round(peak[0] * w)), int(round(peak[1] * h))), PEAK_RGB,
                   cv2.MARKER_CROSS, size, _thickness(img) + 1, cv2.LINE_AA)


def draw_boxes(img: np.ndarray, segment) -> None:
    """The segment's silent boxes (light blue, thin) and sounding boxes (green)."""
    import cv2

    if segment is None:
        return
    h, w = img.shape[:2]
    t = _thickness(img)
    for boxes, colour, width in ((segment.silent, SILENT_RGB, t), (segment.sounding_boxes, SOUNDING_RGB, t + 1)):
        for b in boxes:
            cv2.rectangle(img, (int(round(b.x1 * w)), int(round(b.y1 * h))),
                          (int(round(b.x2 * w)), int(round(b.y2 * h))), colour, width, cv2.LINE_8)


def draw_label(img: np.ndarray, text: str) -> None:
    """``text`` on a dark strip in the top-left corner (the view's title, in short)."""
    import cv2

    if not text:
        return
    h = img.shape[0]
    scale = max(0.35, h / 900)
    th = max(1, int(round(scale * 1.6)))
    (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, th)
    pad = max(2, int(round(4 * scale)))
    cv2.rectangle(img, (0, 0), (min(img.shape[1] - 1, tw + 2 * pad), tht + base + 2 * pad), LABEL_BG, -1)
    cv2.putText(img, text, (pad, pad + tht), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), th, cv2.LINE_AA)


def render_tile(frame: np.ndarray, dm: DisplayMap | None, lut: np.ndarray, options: RenderOptions,
                segment=None, label: str = "") -> np.ndarray:
    """One view: the frame, the map over it (None: the plain frame), contour, peak, boxes, label."""
    img = frame.copy()
    if dm is not None:  # over the map's region: the whole frame, or a centre-cropping model's crop
        h, w = img.shape[:2]
        x0, y0, x1, y1 = dm.region
        c0, r0, c1, r1 = (int(round(x0 * w)), int(round(y0 * h)), int(round(x1 * w)), int(round(y1 * h)))
        sub = blend_overlay(img[r0:r1, c0:c1], dm.values, lut)
        if options.contour:
            draw_contour(sub, dm.values, options.threshold)
        img[r0:r1, c0:c1] = sub
    if options.boxes:
        draw_boxes(img, segment)
    if dm is not None and options.peak and dm.peak is not None:
        draw_peak(img, dm.peak)
    if options.labels:
        draw_label(img, label)
    return img


def even(n: float) -> int:
    """The even integer at or below ``n`` (at least 2): 4:2:0 video needs even sizes."""
    return max(2, int(n) // 2 * 2)


@dataclass(frozen=True)
class Layout:
    """Where the views go in the output picture."""

    cols: int
    rows: int
    tile: tuple[int, int]     # (w, h) of one view
    size: tuple[int, int]     # (w, h) of the output, even

    @classmethod
    def for_views(cls, n: int, width: int, height: int, max_width: int = 1920) -> "Layout":
        """A near-square grid of ``n`` views of a ``width`` x ``height`` video, scaled down so
        that the output is at most ``max_width`` wide (never scaled up)."""
        cols = max(1, math.ceil(math.sqrt(n)))
        rows = max(1, math.ceil(n / cols))
        s = min(1.0, max_width / float(cols * width)) if max_width else 1.0
        tw, th = max(2, int(round(width * s))), max(2, int(round(height * s)))
        return cls(cols, rows, (tw, th), (even(cols * tw), even(rows * th)))


def compose_grid(tiles: list[np.ndarray], layout: Layout) -> np.ndarray:
    """Place ``tiles`` (resized to the layout's tile size when needed) row by row."""
    import cv2

    out_w, out_h = layout.size
    tw, th = layout.tile
    out = np.empty((out_h, out_w, 3), np.uint8)
    out[...] = BACKGROUND
    for k, tile in enumerate(tiles):
        r, c = divmod(k, layout.cols)
        if tile.shape[1] != tw or tile.shape[0] != th:
            tile = cv2.resize(tile, (tw, th), interpolation=cv2.INTER_AREA)
        y, x = r * th, c * tw
        hh, ww = min(th, out_h - y), min(tw, out_w - x)
        if hh > 0 and ww > 0:
            out[y:y + hh, x:x + ww] = tile[:hh, :ww]
    return out
