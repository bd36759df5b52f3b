#!/usr/bin/env bash
# The shipped ca model (worldmodel/checkpoints/ca.*), as trained on the local 2-core
# machine on 2026-12-02 (no GPU time was left): a ca Φ of the domain's own rows, every
# head for 7 minutes, then the primitive head alone for 5 epochs (valid loss was lowest
# there; 40 epochs overfit 9 000 records) and the value head alone, a 40-epoch cosine
# stopped after 9 epochs (324 steps; valid loss 0.476 -> 0.446).
#   bash docs/reproduce/train_ca_model.sh OUT
set -euo pipefail
out=${1:-runs/ca}
worldmodel generate --domain ca --count 10000 --max-length 6 --examples 4 --min-examples 2 --seed 0 --quiet --out data/phi-ca
worldmodel train --data data/phi-ca --out "$out-all" --dim 64 --token-dim 32 --primitive-width 256 --value-width 64 \
  --batch-size 64 --spec-batch-size 512 --lr 2e-3 --epochs 30 --time-limit 7 --threads 1 --valid-limit 128 \
  --checkpoint-every 100000 --quiet
worldmodel train --data data/phi-ca --init "$out-all/model" --only primitives --reuse-batches --epochs 5 \
  --batch-size 256 --spec-batch-size 256 --lr 2e-3 --out "$out-primitives" --threads 2 --valid-limit 128 --quiet
worldmodel train --data data/phi-ca --init "$out-primitives/model" --only values --reuse-batches --epochs 40 --max-steps 324 \
  --batch-size 256 --spec-batch-size 256 --lr 2e-3 --out "$out" --threads 2 --valid-limit 128 --quiet
