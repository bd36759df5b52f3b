"""Write examples/regex-heldout-seed90.jsonl: 40 generated regex concepts never trained on.

A regex Φ drawn with seed 90 (the shipped model's Φ used seed 0) gives its test split,
which is disjoint by behaviour from every Φ's train split; each task keeps 6 of its 12
strings as observations and the other 6 as held-out strings.

    python docs/reproduce/make_regex_heldout.py
"""

import json
import subprocess
import tempfile
from pathlib import Path

from worldmodel.datasets import iter_records, regex, task_to_json

root = Path(__file__).parents[2]
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["worldmodel", "generate", "--domain", "regex", "--count", "6000", "--max-length", "5",
                    "--examples", "12", "--seed", "90", "--quiet", "--out", f"{tmp}/phi"], check=True)
    by_length: dict[int, list] = {}
    for task in iter_records(f"{tmp}/phi", "test", domain=regex):
        by_length.setdefault(task.extra["length"], []).append(task)
lines = []
for length in (2, 3, 4, 5):
    for task in by_length[length][:10]:
        record = json.loads(task_to_json(task, regex))
        strings = record["observations"]
        record["observations"], record["heldout"] = strings[:6], strings[6:]
        lines.append(json.dumps(record))
(root / "examples" / "regex-heldout-seed90.jsonl").write_text("".join(line + "\n" for line in lines))
print(f"{len(lines)} tasks")
