#!/usr/bin/env bash
# The shipped arith model (worldmodel/checkpoints/arith.*), as trained on the lent H200
# on 2026-12-02 (after docs/reproduce/device_setup.sh): an arith Φ of the domain's own
# inputs, then the energy, similarity, primitive and value heads together.
#   bash docs/reproduce/train_arith_model.sh OUT MINUTES
set -euo pipefail
out=$1 minutes=${2:-3.5}
phi=/tmp/phi-arith run=/tmp/arith-run
start=$(date +%s)
[ -f $phi/manifest.json ] || worldmodel generate --domain arith --count 200000 --max-length 5 --examples 5 \
  --min-examples 2 --seed 0 --workers "$(nproc)" --quiet --out $phi
echo "generate: $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -l 2 >"$out-smi.csv" 2>/dev/null & smi=$!
worldmodel train --data $phi --out $run --dim 64 --token-dim 32 --primitive-width 256 --value-width 64 \
  --batch-size 64 --spec-batch-size 1024 --lr 2e-3 --epochs 50 --time-limit "$minutes" --device cuda \
  --workers "$(($(nproc) - 1))" --valid-limit 128 --checkpoint-every 100000 --quiet 2>&1 | grep -v Warning | tail -n 8
kill $smi || true
cp $run/model.json "$out.json"; cp $run/model.safetensors "$out.safetensors"; cp $run/history.json "$out-history.json"
cp $phi/manifest.json "$out-phi-manifest.json"
echo "total: $(( $(date +%s) - start )) s"
