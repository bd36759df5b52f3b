#!/usr/bin/env bash
# Retrain heads of a model on the GPU machine, one head at a time with every other
# weight frozen (--only): the broad Φ (as train_guided_model.sh makes it) is featurised
# once and its batches replayed on the GPU (--reuse-batches), so featurisation stops
# bounding training. The runs share the one GPU, side by side.
# Usage: bash docs/reproduce/train_primitive_head.sh OUT MINUTES RUN...
# where each RUN is "NAME INIT EPOCHS TERM [train options]", e.g.
#   "w256 worldmodel/checkpoints/deepcoder 40 primitives --lr 1e-3"
#   "w512 worldmodel/checkpoints/deepcoder 15 primitives --primitive-width 512 --lr 2e-3"
#   "values .bench/w256 12 values --value-width 64 --lr 2e-3"
set -euo pipefail
out=$1
minutes=$2
shift 2
phi=${PHI:-/tmp/phi-broad}
count=${COUNT:-1200000}
start=$(date +%s)
worldmodel generate --domain deepcoder --min-length 1 --max-length 6 --examples 5 --min-examples 2 \
  --inputs exedec,medium,pccoder --seed 0 --count "$count" --workers "$(nproc)" --quiet --out "$phi"
echo "generate: $(( $(date +%s) - start )) s"
mkdir -p "$out"
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits -l 2 > "$out/gpu.csv" 2>/dev/null &
sampler=$!
workers=$(( $(nproc) / $# - 1 ))
pids=()
names=()
for run in "$@"; do
  read -r name init epochs term options <<< "$run"
  # shellcheck disable=SC2086
  worldmodel train --data "$phi" --out "$out/$name" --init "$init" --only "$term" --reuse-batches $options \
    --device "${DEVICE:-cuda}" --workers "$workers" --batch-size 64 --spec-batch-size 4096 --epochs "$epochs" \
    --time-limit "$minutes" --valid-limit 8192 --checkpoint-every 100000 --quiet > "$out/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
done
wait "${pids[@]}" || true
kill "$sampler" || true
echo "total: $(( $(date +%s) - start )) s"
for name in "${names[@]}"; do
  grep -v Warning "$out/$name.log" | tail -n 3
  rm -rf "$out/$name/checkpoints" "$out/$name/train_config.json"
done
cp "$phi/manifest.json" "$out/phi-manifest.json"
