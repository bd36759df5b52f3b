#!/usr/bin/env bash
# Generate the broad Φ and train the shipped model on the GPU machine, in one go:
# programs of lengths 1-6 with 2-5 examples, inputs from three distributions (ExeDec's
# small lists and ints, PCCoder's long lists of wide values, one in between); then
# energy, similarity, flow policy and the primitive head together, sampling the GPU
# while it runs. Usage: bash docs/reproduce/train_guided_model.sh RUN MINUTES OUT [INIT BATCH LR EPOCHS]
# (INIT: a checkpoint to start from; BATCH: tasks per step of the program-level terms.)
set -euo pipefail
run=${1:-runs/guided}
minutes=${2:-5}
out=${3:-$run}
init=${4:+--init $4}
batch=${5:-64}
lr=${6:-2e-3}
epochs=${7:-4}
phi=/tmp/phi-broad
start=$(date +%s)
worldmodel generate --domain deepcoder --min-length 1 --max-length 6 --examples 5 --min-examples 2 \
  --inputs exedec,medium,pccoder --seed 0 --count 1200000 --workers "$(nproc)" --quiet --out "$phi"
echo "generate: $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits -l 2 > "$out/gpu.csv" 2>/dev/null &
sampler=$!
# shellcheck disable=SC2086
worldmodel train --data "$phi" --out "$run" --policy --device cuda --workers "$(( $(nproc) - 1 ))" $init \
  --batch-size "$batch" --spec-batch-size 4096 --lr "$lr" --dim 128 --token-dim 64 --epochs "$epochs" --time-limit "$minutes" \
  --valid-limit 128 --checkpoint-every 100000 --quiet 2>&1 | grep -v Warning | tail -n 20
kill "$sampler" || true
echo "total: $(( $(date +%s) - start )) s"
cp "$phi/manifest.json" "$out/phi-manifest.json"
cp "$run/model.json" "$run/model.safetensors" "$run/history.json" "$out/" 2>/dev/null || true
# Every 20th record of the valid split (all lengths): the tuning set for the search.
cat "$phi"/valid/shard-*.jsonl | awk 'NR % 20 == 0' > "$out/phi-valid-sample.jsonl"
