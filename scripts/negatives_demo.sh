#!/usr/bin/env bash
# Audio dependence of the shipped heads (SPEC 5, `avsol eval --negatives`): a small
# synthetic set, its TEST split, the three checkpoints of resources/models, and the table
# of ROC-AUC / false alarm / pIA per negative kind per head that the README shows.
#
#   scripts/negatives_demo.sh                 # WORK=build/negatives-demo, VIDEOS=60
#   MODELS=/path/to/new/heads scripts/negatives_demo.sh   # rerun on retrained heads
#
# The set uses the demo models' classes and frame size (8 classes, 128 px) with its own
# seed; the off-screen sounds are drawn (seed 0) from the test videos' event segments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${WORK:-$ROOT/build/negatives-demo}"
MODELS="${MODELS:-$ROOT/resources/models}"
VIDEOS="${VIDEOS:-60}" SEED=2025 CLASSES=8 SIZE=128
THREADS="${THREADS:-2}"

avsol() { "$PY" -m model_core "$@"; }
cd "$ROOT"
mkdir -p "$WORK"
t_start=$(date +%s)
if [ ! -f "$WORK/synth/avsol-e.json" ]; then
  avsol synth "$WORK/synth" --videos "$VIDEOS" --seed "$SEED" --classes "$CLASSES" --size "$SIZE" --workers 2
fi
"$PY" scripts/split_annotations.py "$WORK/synth" test   # -> avsol-e.test.json
avsol eval "$WORK/synth" --annotations "$WORK/synth/avsol-e.test.json" \
  --checkpoint "$MODELS/avc.pt" --checkpoint "$MODELS/cls.pt" --checkpoint "$MODELS/dnm.pt" \
  --out "$WORK/report.json" --csv "$WORK/report.csv" --threads "$THREADS" --negatives

"$PY" - "$WORK/report.json" <<'PYEOF'
import json, sys
heads = json.load(open(sys.argv[1]))["heads"]
f = lambda x: "  n/a" if x is None else f"{x:5.3f}"
print(f"\n{'head':5} {'negative':9} {'ROC-AUC':>7} {'false alarm':>11} {'pIA':>5} {'map IoU':>7} {'map change':>10} {'items':>5}")
for name, h in heads.items():
    for kind, s in h.get("negatives", {}).items():
        print(f"{name:5} {kind:9} {f(s['roc_auc']):>7} {f(s['false_alarm']):>11} {f(s['pia']):>5} "
              f"{f(s['map_iou']):>7} {f(s['map_change']):>10} {s['n_items']:5d}")
PYEOF
echo "total: $(( $(date +%s) - t_start )) s"
