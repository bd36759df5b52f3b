#!/usr/bin/env bash
# The shipped regex model (worldmodel/checkpoints/regex.*), as trained on the local
# 2-core CPU machine on 2026-12-02: a regex Φ (programs of 1-6 statements, 4-8 strings
# drawn from each, seed 0; the held-out generated set uses seed 90), then the primitive
# head alone (what `guided` reads) for 20 epochs on batches featurised once. The
# program-level heads (energy, policy, dynamics, value) learn from programs that
# reproduce their examples' outputs, which a generative task has not: they stay at
# their initialisation, and `guided` reads only the primitive head on regex tasks.
# About 6 minutes with OMP_NUM_THREADS=1.
#   bash docs/reproduce/train_regex_model.sh OUT
set -euo pipefail
out=${1:-runs/regex}
export OMP_NUM_THREADS=1
worldmodel generate --domain regex --count 30000 --max-length 6 --examples 8 --min-examples 4 --seed 0 --quiet --out data/phi-regex
worldmodel train --data data/phi-regex --out "$out" --dim 64 --token-dim 32 --primitive-width 256 --value-width 64 \
  --only primitives --reuse-batches --epochs 20 --batch-size 256 --spec-batch-size 256 --lr 2e-3 --threads 1 \
  --valid-limit 512 --quiet
