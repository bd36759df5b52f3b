"""Markdown tables of a `worldmodel bench` run: solves per method, budget and length, and
the calls on the tasks two methods both solve.

Usage: python docs/reproduce/bench_table.py RUN_DIR [BASELINE [METHOD]]
(default baseline enumerate, method guided).
"""

import json
import statistics
import sys
from collections import defaultdict

run = sys.argv[1]
baseline = sys.argv[2] if len(sys.argv) > 2 else "enumerate"
method = sys.argv[3] if len(sys.argv) > 3 else "guided"
records = [json.loads(line) for line in open(f"{run}/results.jsonl")]
by = defaultdict(dict)  # (method, budget) -> task -> record
for r in records:
    by[r["method"], r["budget"]][r["task"]] = r
lengths = sorted({r["length"] for r in records if r["length"] is not None})
tasks = {r["task"] for r in records}
per_length = {L: len({r["task"] for r in records if r["length"] == L}) for L in lengths}

print("| method | calls budget | solved | " + " | ".join(f"L{L}" for L in lengths) + " | median calls (solved) |")
print("|---|---|---|" + "---|" * len(lengths) + "---|")
for (m, budget), rows in sorted(by.items(), key=lambda item: (item[0][0], item[0][1])):
    solved = [r for r in rows.values() if r["verified"]]
    counts = [sum(r["length"] == L for r in solved) for L in lengths]
    median = statistics.median(r["calls"] for r in solved) if solved else "-"
    cells = " | ".join(f"{c}/{per_length[L]}" for c, L in zip(counts, lengths))
    print(f"| {m} | {budget:,} | {len(solved)}/{len(tasks)} | {cells} | {median} |")

print()
print(f"| calls budget | tasks both solve | {baseline} median calls | {method} median calls | ratio "
      f"| only {method} | only {baseline} |")
print("|---|---|---|---|---|---|---|")
for budget in sorted({b for m, b in by if m == method}):
    a, b = by.get((baseline, budget), {}), by[method, budget]
    both = [t for t in tasks if a.get(t, {}).get("verified") and b.get(t, {}).get("verified")]
    if not both:
        continue
    ma = statistics.median(a[t]["calls"] for t in both)
    mb = statistics.median(b[t]["calls"] for t in both)
    only_b = sum(1 for t in tasks if b.get(t, {}).get("verified") and not a.get(t, {}).get("verified"))
    only_a = sum(1 for t in tasks if a.get(t, {}).get("verified") and not b.get(t, {}).get("verified"))
    print(f"| {budget:,} | {len(both)} | {ma:g} | {mb:g} | {mb / ma:.3f} | {only_b} | {only_a} |")
