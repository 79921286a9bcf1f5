#!/usr/bin/env bash
# Train the three demo models (heads avc, cls, dnm) on the synthetic set with one and the
# same budget, write resources/models/{avc,cls,dnm}.pt, evaluate them on the synthetic TEST
# split with `avsol eval` and print cIoU@0.5, AUC and pointing accuracy per head.
#
#   scripts/train_demo_models.sh            # everything (resumes where a killed run stopped)
#   WORK=/tmp/demo scripts/train_demo_models.sh
#
# Steps: `avsol synth` (skipped when WORK/synth exists: same arguments give the same
# files); `avsol train` x 3 with identical options (seed, epochs, batch, lr, model preset),
# each keeping the epoch with the best val pointing accuracy (--select-best pointing); the
# feature cache WORK/synth/.avsol-cache is shared by the three runs; `avsol eval` of the
# three checkpoints on the test split's AVSOL-E boxes (decoding each video once).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${WORK:-$ROOT/build/demo-models}"
MODELS="${MODELS:-$ROOT/resources/models}"
VIDEOS=720 SEED=2024 CLASSES=8 SIZE=128          # the synthetic set
EPOCHS=3 BATCH=32 LR=2e-3 WD=0.05 TRAIN_SEED=0   # the training budget, same for every head
THREADS="${THREADS:-2}"

avsol() { "$PY" -m model_core "$@"; }
cd "$ROOT"
mkdir -p "$WORK" "$MODELS"
t_start=$(date +%s)

if [ ! -f "$WORK/synth/avsol-e.json" ]; then
  avsol synth "$WORK/synth" --videos "$VIDEOS" --seed "$SEED" --classes "$CLASSES" --size "$SIZE" --workers 2
fi

for head in avc cls dnm; do
  t0=$(date +%s)
  avsol train "$WORK/synth" --head "$head" --epochs "$EPOCHS" --out "$WORK/$head.pt" --resume \
    --config demo --batch-size "$BATCH" --lr "$LR" --weight-decay "$WD" --seed "$TRAIN_SEED" \
    --select-best pointing --workers 2 --threads "$THREADS" --log-every 50
  echo "head $head: $(( $(date +%s) - t0 )) s"
  cp "$WORK/$head.pt" "$MODELS/$head.pt"
done

# the test split's AVSOL-E boxes (avsol eval's --split applies to AVE folders only)
"$PY" - "$WORK/synth" <<'PYEOF'
import sys
from model_core.formats import AvsolE, load_ave, load_avsol_e, save_avsol_e
root = sys.argv[1]
test = set(load_ave(root).splits["test"])
doc = load_avsol_e(f"{root}/avsol-e.json")
save_avsol_e(AvsolE(doc.classes, tuple(v for v in doc.videos if v.video.rsplit(".", 1)[0] in test)),
             f"{root}/avsol-e.test.json")
PYEOF

avsol eval "$WORK/synth" --annotations "$WORK/synth/avsol-e.test.json" \
  --checkpoint "$MODELS/avc.pt" --checkpoint "$MODELS/cls.pt" --checkpoint "$MODELS/dnm.pt" \
  --out "$WORK/report.json" --csv "$WORK/report.csv" --threads "$THREADS"

"$PY" - "$WORK/report.json" <<'PYEOF'
import json, sys
heads = json.load(open(sys.argv[1]))["heads"]
print(f"\n{'head':6} {'cIoU@0.5':>9} {'AUC':>7} {'pointing':>9} {'mean cIoU':>10} {'items':>6}")
for name, h in heads.items():
    print(f"{name:6} {h['ciou@0.5']:9.3f} {h['auc']:7.3f} {h['pointing']:9.3f} {h['mean_ciou']:10.3f} {h['n_items']:6d}")
PYEOF
echo "total: $(( $(date +%s) - t_start )) s"
du -ch "$MODELS"/{avc,cls,dnm}.pt | tail -1
