#!/usr/bin/env python3
"""Validation curves of training runs: one line per run of a metric per epoch, as JSON data
and a PNG drawn with OpenCV (no plotting library is a dependency of the project).

    python scripts/plot_val_curves.py OUT.png RUN [RUN ...] [--metric pointing] [--title T]

RUN is ``NAME=FILE`` or ``FILE``; FILE is a checkpoint written by ``avsol train`` (its
summary's history) or the ``--jsonl`` output of a run (its ``epoch`` events). Writes OUT.png
and OUT.json (``{"metric", "runs": {NAME: {"epoch": [...], "val": [...], "train_loss":
[...]}}}``). Runs whose name starts with the same head (``avc``/``cls``/``dnm``) share a
colour.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

COLOURS = {"avc": (200, 120, 30), "cls": (40, 160, 40), "dnm": (40, 40, 220)}   # BGR
OTHER = [(150, 60, 150), (30, 150, 200), (100, 100, 100), (0, 120, 255), (180, 180, 0), (0, 0, 0),
         (60, 180, 120), (200, 80, 200)]


def read_history(path: Path) -> list[dict]:
    """Epoch entries ``{"epoch", "train", "val"}`` of a checkpoint or a JSON-lines log (read
    as the job protocol's events; human lines mixed into the log are skipped)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if path.suffix == ".pt":
        from model_core.model.checkpoint import load_checkpoint

        return list(load_checkpoint(path).summary.get("history", []))
    from model_core.jobs.events import Epoch, EventError, parse

    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.lstrip().startswith("{"):
            continue
        try:
            event = parse(line, f"{path}:{n}")
        except EventError as exc:
            raise SystemExit(f"plot_val_curves: {exc}") from None
        if isinstance(event, Epoch):
            out.append({"epoch": event.epoch, "train": event.train, "val": event.val})
    return out


def draw(curves: dict[str, dict], metric: str, title: str, out: Path) -> None:
    import cv2

    w, h, left, right, top, bottom = 900, 560, 70, 190, 50, 50
    img = np.full((h, w, 3), 255, np.uint8)
    xs = [e for c in curves.values() for e in c["epoch"]]
    ys = [v for c in curves.values() for v in c["val"] if v is not None]
    if not xs or not ys:
        raise SystemExit(f"no {metric!r} values in the runs given")
    x0, x1 = 0, max(xs)
    y0, y1 = max(0.0, np.floor(min(ys) * 10) / 10 - 0.05), min(1.0, np.ceil(max(ys) * 10) / 10 + 0.05)

    def px(x, y):
        return (int(left + (x - x0) / max(x1 - x0, 1e-9) * (w - left - right)),
                int(h - bottom - (y - y0) / max(y1 - y0, 1e-9) * (h - top - bottom)))

    font = cv2.FONT_HERSHEY_SIMPLEX
    for yt in np.arange(np.ceil(y0 * 20) / 20, y1 + 1e-9, 0.05):
        p = px(x0, yt)
        cv2.line(img, p, px(x1, yt), (230, 230, 230), 1)
        cv2.putText(img, f"{yt:.2f}", (8, p[1] + 4), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    step = max(1, int(np.ceil(x1 / 12)))
    for xt in range(0, x1 + 1, step):
        p = px(xt, y0)
        cv2.line(img, p, (p[0], p[1] + 4), (60, 60, 60), 1)
        cv2.putText(img, str(xt), (p[0] - 5, p[1] + 18), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.rectangle(img, px(x0, y1), px(x1, y0), (60, 60, 60), 1)
    cv2.putText(img, title, (left, 30), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"epoch (x) / val {metric} (y)", (left, h - 12), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, c) in enumerate(curves.items()):
        colour = COLOURS.get(name.split("_")[0].split("-")[0], OTHER[i % len(OTHER)])
        pts = [px(x, y) for x, y in zip(c["epoch"], c["val"]) if y is not None]
        for a, b in zip(pts, pts[1:]):
            cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, colour, -1, cv2.LINE_AA)
        ly = top + 18 * i
        cv2.line(img, (w - right + 12, ly), (w - right + 36, ly), colour, 2)
        cv2.putText(img, name[:22], (w - right + 42, ly + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(out), img):
        raise SystemExit(f"{out}: cannot write the PNG")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="PNG to write (the data goes beside it as .json)")
    ap.add_argument("runs", nargs="+", help="NAME=FILE or FILE (checkpoint .pt or --jsonl log)")
    ap.add_argument("--metric", default="pointing")
    ap.add_argument("--title", default=None)
    args = ap.parse_args(argv)
    curves = {}
    for run in args.runs:
        name, _, file = run.rpartition("=")
        path = Path(file)
        name = name or path.stem
        hist = read_history(path)
        curves[name] = {"file": str(path), "epoch": [e["epoch"] for e in hist],
                        "val": [e.get("val", {}).get(args.metric) for e in hist],
                        "train_loss": [e.get("train", {}).get("loss") for e in hist]}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps({"metric": args.metric, "runs": curves}, indent=1))
    draw(curves, args.metric, args.title or f"validation {args.metric} per epoch", out)
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
