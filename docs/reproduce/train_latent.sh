#!/usr/bin/env bash
# The shipped program latent space (docs/benchmarks.md, "Latent space"), as made on
# 2026-12-01 on the lent H200 (after docs/reproduce/device_setup.sh): Φ, then the latent
# head alone on the shipped model's frozen spec encoder, its first epoch featurised once
# and replayed on the GPU.
set -euo pipefail
phi=${1:-/tmp/phi}
out=${2:-runs/latent}
[ -d "$phi" ] || worldmodel generate --count 120000 --max-length 5 --examples 5 --min-examples 2 \
  --inputs exedec,medium,pccoder --seed 0 --workers "$(nproc)" --quiet --out "$phi"
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader -l 2 > "$out.gpu.csv" 2>/dev/null & smi=$!
worldmodel train --data "$phi" --init worldmodel/checkpoints/deepcoder --latent --only latent \
  --batch-size 512 --lr 2e-3 --epochs 80 --reuse-batches --valid-limit 2048 --device cuda --no-amp \
  --workers 15 --time-limit 7 --checkpoint-every 1000000 --quiet --out "$out"
kill $smi || true
