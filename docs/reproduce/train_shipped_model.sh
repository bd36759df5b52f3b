#!/usr/bin/env bash
# Train the shipped model (worldmodel/checkpoints/deepcoder.*) on the GPU machine:
# regenerate Φ (checked byte-identical), then train energy, similarity and flow policy
# together with `worldmodel train`, sampling GPU memory while it runs.
set -euo pipefail
run=${1:-runs/shipped}
minutes=${2:-8}
bash docs/reproduce/generate_phi.sh /tmp/phi "$(nproc)"
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader -l 5 > "$run.gpu.csv" 2>/dev/null &
sampler=$!
worldmodel train --data /tmp/phi --out "$run" --policy --device cuda --workers "$(( $(nproc) - 1 ))" \
  --batch-size 256 --lr 2e-3 --dim 128 --token-dim 64 --epochs 3 --time-limit "$minutes" \
  --valid-limit 128 --checkpoint-every 200 --quiet
kill "$sampler" || true
echo "peak GPU memory (MiB) and utilisation (%):"; sort -t, -k1 -n "$run.gpu.csv" | tail -1
