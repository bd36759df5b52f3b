#!/usr/bin/env bash
# Issue 12: the shipped (residual) dynamics head trained on, as run on the lent H200 on
# 2026-12-01 (docs/benchmarks.md, "Queries", "Longer training").
#
#   bash docs/reproduce/train_dynamics_long.sh INIT OUT MINUTES EPOCHS [BATCH] [LR]
#
# INIT: a model checkpoint holding the head (.bench/dyn-init: a --dim 8 carrier of the
# shipped head). Writes the head to OUT.{json,safetensors} (save_dynamics), the run's
# history to OUT-history.json and nvidia-smi samples (every 2 s) to OUT-smi.csv.
# Φ is the seed-0 recipe of train_dynamics.sh, so the local data/phi test split stays
# held out. Matrix products run in TF32 (fp32 was compute-bound at 5 200 tasks/s); the
# first epoch's batches stay on the GPU (--reuse-batches), so later epochs need no data
# workers. EPOCHS sets the cosine schedule: choose it so that it ends near MINUTES.
set -euo pipefail
init=$1 out=$2 minutes=$3 epochs=$4 batch=${5:-1024} lr=${6:-2e-3}
wm() {
  python3 -c "import sys, torch; torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
from worldmodel.cli import main; main()" "$@"
}
phi=/tmp/phi run=/tmp/dyn-run
[ -f $phi/manifest.json ] || wm generate --count 120000 --max-length 5 --examples 5 --min-examples 2 \
  --inputs exedec,medium,pccoder --seed 0 --workers "$(nproc)" --quiet --out $phi
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -l 2 >"$out-smi.csv" & smi=$!
start=$(date +%s)
wm train --data $phi --init "$init" --only dynamics --batch-size "$batch" --lr "$lr" --epochs "$epochs" \
  --valid-limit 0 --device cuda --no-amp --workers "$(($(nproc) - 1))" --reuse-batches --time-limit "$minutes" \
  --quiet --checkpoint-every 100000 --out $run
echo "train wall $(($(date +%s) - start)) s"
kill $smi
cp $run/history.json "$out-history.json"
python3 - "$run/model" "$out" <<'PY'
import json, sys
from worldmodel import WorldModel, save_dynamics
save_dynamics(WorldModel.load(sys.argv[1]).dynamics.cpu(), sys.argv[2])
for r in json.load(open(sys.argv[2] + "-history.json")):
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items() if k.startswith(("epoch", "dyn", "spec_tasks", "step", "partial"))})
util = [list(map(float, line.split(","))) for line in open(sys.argv[2] + "-smi.csv") if line.strip()]
busy = [u for u, _ in util]
print(f"nvidia-smi: {len(busy)} samples, mean {sum(busy) / len(busy):.0f} % busy, "
      f"{sum(u > 50 for u in busy)} above 50 %, peak {max(m for _, m in util) / 1024:.1f} GiB")
PY
