#!/usr/bin/env bash
# Issue 12 (dyn12c): the shipped dynamics head grown (2 -> 4 blocks, numeric readout;
# docs/reproduce/grow_dynamics.py) and trained on, as run on the lent H200 on 2026-12-01
# (docs/benchmarks.md, "Queries", "A grown head").
#
#   bash docs/reproduce/train_dynamics_grown.sh INIT OUT MINUTES [BATCH] [LR] [DEVICE] [LIMIT]
#
# INIT: a carrier model holding the grown head. Writes the head to OUT.{json,safetensors}
# (save_dynamics), the run's history to OUT-history.json and nvidia-smi samples (every
# 2 s) to OUT-smi.csv. Φ is the seed-0 recipe of train_dynamics.sh, so the local
# data/phi test split stays held out. As train_dynamics_long.sh (TF32, --reuse-batches),
# but the cosine runs over MINUTES (--lr-by-time), so it ends when the time does.
set -euo pipefail
init=$1 out=$2 minutes=$3 batch=${4:-1024} lr=${5:-1.5e-3} device=${6:-cuda} limit=${7:-}
wm() {
  python3 -c "import sys, torch; torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
from worldmodel.cli import main; main()" "$@"
}
phi=${PHI:-/tmp/phi} run=${RUN:-/tmp/dyn-run}
[ -d $phi/train ] || wm generate --count 120000 --max-length 5 --examples 5 --min-examples 2 \
  --inputs exedec,medium,pccoder --seed 0 --workers "$(nproc)" --quiet --out $phi
smi=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -l 2 >"$out-smi.csv" & smi=$!
fi
start=$(date +%s)
wm train --data $phi --init "$init" --only dynamics --batch-size "$batch" --lr "$lr" --epochs 500 --lr-by-time \
  --valid-limit 0 --device "$device" --no-amp --workers "$(($(nproc) - 1))" --reuse-batches --time-limit "$minutes" \
  --quiet --checkpoint-every 100000 ${limit:+--limit $limit} --out $run
echo "train wall $(($(date +%s) - start)) s"
[ -z "$smi" ] || kill $smi
cp $run/history.json "$out-history.json"
python3 - "$run/model" "$out" <<'PY'
import json, os, sys
from worldmodel import WorldModel, save_dynamics
save_dynamics(WorldModel.load(sys.argv[1]).dynamics.cpu(), sys.argv[2])
for r in json.load(open(sys.argv[2] + "-history.json")):
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items() if k.startswith(("epoch", "dyn", "spec_tasks", "step", "partial"))})
if os.path.exists(sys.argv[2] + "-smi.csv"):
    util = [list(map(float, line.split(","))) for line in open(sys.argv[2] + "-smi.csv") if line.strip()]
    busy = [u for u, _ in util]
    print(f"nvidia-smi: {len(busy)} samples, mean {sum(busy) / len(busy):.0f} % busy, "
          f"{sum(u > 50 for u in busy)} above 50 %, peak {max(m for _, m in util) / 1024:.1f} GiB")
PY
