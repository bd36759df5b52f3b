#!/usr/bin/env bash
# Regenerate the training dataset Φ (seed 0, 200 000 records) and check it is byte-for-byte
# the dataset whose test split produced examples/heldout-l345.jsonl and examples/tasks.jsonl.
set -euo pipefail
out=${1:-data/phi-deepcoder-s0}
workers=${2:-$(nproc)}
worldmodel generate --domain deepcoder --min-length 1 --max-length 5 --examples 5 --seed 0 \
  --count 200000 --workers "$workers" --quiet --out "$out"
python3 - "$out" <<'PY'
import json, sys
made = json.load(open(f"{sys.argv[1]}/manifest.json"))["shards"]
shipped = json.load(open("examples/phi-deepcoder-s0-manifest.json"))["shards"]
same = [a["sha256"] for a in made] == [b["sha256"] for b in shipped]
print("shards identical to examples/phi-deepcoder-s0-manifest.json:", same)
sys.exit(0 if same else 1)
PY
