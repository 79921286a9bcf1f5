"""Write DATA/avsol-e.SPLIT.json: the AVSOL-E boxes of one split's videos only.

``avsol eval --split`` filters AVE annotations; the demo scripts evaluate a synthetic set's
AVSOL-E boxes on its test split, so they write that subset once with this helper
(``python scripts/split_annotations.py DATA test``) and pass it as ``--annotations``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the clone's model_core

from model_core.formats import AvsolE, load_ave, load_avsol_e, save_avsol_e  # noqa: E402


def main(root: str, split: str) -> None:
    ids = set(load_ave(root).splits[split])
    doc = load_avsol_e(f"{root}/avsol-e.json")
    save_avsol_e(AvsolE(doc.classes, tuple(v for v in doc.videos if v.video.rsplit(".", 1)[0] in ids)),
                 f"{root}/avsol-e.{split}.json")


if __name__ == "__main__":
    main(*sys.argv[1:3])
