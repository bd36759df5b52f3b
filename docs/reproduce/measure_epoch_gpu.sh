#!/usr/bin/env bash
# One epoch of a 1 M-program Φ on the lent GPU, timed (docs/scale.md). The device tool
# gives at most 10 minutes a call, and the epoch takes longer, so the run stops on
# --time-limit and the next call resumes it: the same command again, with the run
# folder the last call returned in .epoch-run/ (carried) if the machine was not kept.
# Φ is regenerated when missing (the same bytes: generate is a pure function of its
# seed; the manifest's shard hashes are printed to check). nvidia-smi samples the
# GPU's utilisation every half second into OUT/gpu-CALL.csv.
#   bash docs/reproduce/measure_epoch_gpu.sh MINUTES CALL
set -euo pipefail
minutes=$1
call=$2
phi=/tmp/phi-1m
run=/tmp/run-1m
out=${OUT:-runs/epoch-gpu}
mkdir -p "$out"
export PYTHONPATH=/tmp/site OMP_NUM_THREADS=1
if [ ! -f "$phi/manifest.json" ]; then
  start=$(date +%s)
  python3 -m worldmodel generate --count 1000000 --max-length 5 --workers 16 --seed 0 --quiet --out "$phi"
  echo "generate: $(( $(date +%s) - start )) s"
fi
python3 -c "import json,hashlib; m=json.load(open('$phi/manifest.json')); print('phi manifest sha256', hashlib.sha256(json.dumps(m, sort_keys=True).encode()).hexdigest()[:16])"
if [ ! -d "$run" ] && [ -d .epoch-run ]; then cp -r .epoch-run "$run"; fi
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > "$out/gpu-$call.csv" &
sampler=$!
start=$(date +%s.%N)
python3 -m worldmodel train --data "$phi" --out "$run" --device cuda --batch-size 1024 --epochs 1 --valid-limit 16 \
  --workers 15 --threads 1 --checkpoint-every 100 --time-limit "$minutes" --quiet
echo "train call $call: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s wall, start-up included"
kill $sampler
cp -r "$run" "$out/run"
python3 - "$run" <<'EOF'
import json, sys
for record in json.load(open(f"{sys.argv[1]}/history.json")):
    print(json.dumps({k: v for k, v in record.items() if k != "valid"}))
EOF
