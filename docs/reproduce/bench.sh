#!/usr/bin/env bash
# The bench runs behind docs/benchmarks.md, on one machine, every method side by side.
# Usage: bench.sh PART OUTDIR [WORKERS]; PART is heldout or exedec.
# The ExeDec set is read from .bench/exedec-none.jsonl (a copy of ../shared/benchmarks/).
set -euo pipefail
part=$1; out=$2; workers=${3:-$(nproc)}
common=(--workers "$workers" --model shipped --no-progress)
case "$part" in
  heldout)
    worldmodel bench examples/test-l12345.jsonl --methods enumerate --calls 1e2,1e3,1e4,1e5,1e6 --out "$out/enumerate-test-l12345" "${common[@]}"
    worldmodel bench examples/heldout-l345.jsonl --methods enumerate,policy --calls 1e2,1e3,1e4,1e5 --out "$out/heldout-l345" "${common[@]}"
    worldmodel bench examples/heldout-l345.jsonl --methods energy,mcmc --calls 1e2,1e3,1e4 --seconds 5 --out "$out/heldout-l345-slow" "${common[@]}"
    ;;
  exedec)
    worldmodel bench .bench/exedec-none.jsonl --methods enumerate --calls 1e2,1e3,1e4,1e5,1e6 --out "$out/exedec-enumerate" "${common[@]}"
    worldmodel bench .bench/exedec-none.jsonl --methods enumerate,policy --calls 1e2,1e3,1e4,1e5 --out "$out/exedec" "${common[@]}"
    python3 -c "
import json
rows = [json.loads(l) for l in open('.bench/exedec-none.jsonl')]
keep = [r for L in range(1, 6) for r in [r for r in rows if r['length'] == L][:40]]
open('/tmp/exedec-200.jsonl', 'w').writelines(json.dumps(r) + '\n' for r in keep)"
    worldmodel bench /tmp/exedec-200.jsonl --methods energy,mcmc --calls 1e2,1e3,1e4 --seconds 5 --out "$out/exedec-200-slow" "${common[@]}"
    ;;
  *) echo "PART is heldout or exedec" >&2; exit 2 ;;
esac
