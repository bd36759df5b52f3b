#!/usr/bin/env bash
# The bench runs behind docs/benchmarks.md: every method side by side in one run.
# Usage: bench.sh NAME OUTDIR [WORKERS]. The ExeDec set is read from
# .bench/exedec-none.jsonl, a copy of examples/exedec-none.jsonl.
set -euo pipefail
name=$1; out=$2/$1; workers=${3:-$(nproc)}
common=(--workers "$workers" --model shipped --no-progress --out "$out")
exedec=.bench/exedec-none.jsonl
subset() {  # the first $1 tasks of each length 1-5 of the ExeDec set
  python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$exedec')]
keep = [r for L in range(1, 6) for r in [r for r in rows if r['length'] == L][:$1]]
sys.stdout.writelines(json.dumps(r) + '\n' for r in keep)" > "$2"
}
case "$name" in
  heldout)      worldmodel bench examples/heldout-l345.jsonl --methods enumerate,policy --calls 1e2,1e3,1e4,1e5 "${common[@]}" ;;
  exedec)       worldmodel bench "$exedec" --methods enumerate,policy --calls 1e2,1e3,1e4,1e5 "${common[@]}" ;;
  enum-test)    worldmodel bench examples/test-l12345.jsonl --methods enumerate --calls 1e2,1e3,1e4,1e5,1e6 "${common[@]}" ;;
  enum-exedec)  worldmodel bench "$exedec" --methods enumerate --calls 1e2,1e3,1e4,1e5,1e6 "${common[@]}" ;;
  heldout-slow) worldmodel bench examples/heldout-l345.jsonl --methods enumerate,energy,mcmc --calls 1e2,1e3,1e4 --seconds 5 "${common[@]}" ;;
  exedec-slow)  subset 40 /tmp/exedec-200.jsonl
                worldmodel bench /tmp/exedec-200.jsonl --methods enumerate,energy,mcmc --calls 1e2,1e3,1e4 --seconds 5 "${common[@]}" ;;
  *) echo "NAME is one of heldout exedec enum-test enum-exedec heldout-slow exedec-slow" >&2; exit 2 ;;
esac
