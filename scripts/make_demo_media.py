#!/usr/bin/env python
"""Make the bundled demo clip ``resources/demo/`` from the synthetic generator.

Runs exactly::

    avsol synth TMP --videos 1 --seed 122 --size 320x240 --motion 0.5 --noise 0.05 \\
        --background-prob 0.3 --sizes small

then copies ``TMP/videos/synth_00000.mp4`` to ``OUT/demo.mp4`` and writes
``OUT/avsol-e.json`` and ``OUT/Annotations.txt`` with the video renamed ``demo.mp4`` /
``demo``. Seed 122 was picked because its clip shows what the app is about: a medium
sounding object (magenta cross), three silent objects of other classes (one small) and
background segments of all three kinds (silence, noise, an off-screen class). The script
checks that this still holds, so a change to the generator cannot silently turn the demo
into a dull clip.

Usage: ``.venv/bin/python scripts/make_demo_media.py [--out resources/demo]``
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTH_ARGS = ["--videos", "1", "--seed", "122", "--size", "320x240", "--motion", "0.5",
              "--noise", "0.05", "--background-prob", "0.3", "--sizes", "small"]
NAME = "demo"


def check(plan: dict) -> list[str]:
    """Why the generated clip would not make a good demo (empty when it is fine)."""
    out = []
    silent = [o for o in plan["objects"] if not o["sounding"]]
    if len(silent) < 2:
        out.append(f"only {len(silent)} silent object(s)")
    missing = {"silence", "noise", "offscreen"} - set(plan["kinds"])
    if missing:
        out.append(f"no background segment of kind(s) {sorted(missing)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "demo")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from model_core.atomic import write_json, write_text
    from model_core.cli import main as avsol

    with tempfile.TemporaryDirectory() as tmp:
        if avsol(["synth", tmp, *SYNTH_ARGS]) != 0:
            return 1
        tmp = Path(tmp)
        plan = json.loads((tmp / "synth-plan.json").read_text())["videos"][0]
        problems = check(plan)
        if problems:
            print("the demo clip is no longer a good demo: " + "; ".join(problems)
                  + " -- pick another --seed in this script", file=sys.stderr)
            return 1
        doc = json.loads((tmp / "avsol-e.json").read_text())
        doc["videos"][0]["video"] = f"{NAME}.mp4"
        lines = (tmp / "Annotations.txt").read_text().splitlines()
        renamed = [lines[0]] + [line.replace("&synth_00000&", f"&{NAME}&") for line in lines[1:]]
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / "videos" / "synth_00000.mp4", args.out / f"{NAME}.mp4")
        write_json(args.out / "avsol-e.json", doc)
        write_text(args.out / "Annotations.txt", "\n".join(renamed) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"wrote {args.out} ({size / 1024:.0f} KB): {plan['category']} sounding, "
          f"{len(plan['objects']) - 1} silent objects, segments {' '.join(plan['kinds'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
