"""Separation rate of active queries on ambiguous held-out tasks.

    python docs/reproduce/measure_distinguish.py --data data/phi --split test --per-length 50 \
        [--examples 2] [--dynamics HEAD]

(HEAD: a file of save_dynamics; the shipped head is written as one by
 python -c "from worldmodel import WorldModel, save_dynamics; save_dynamics(WorldModel.default().dynamics, 'runs/shipped-dynamics')")

For the first PER_LENGTH programs of each length 1-4 of the split, the task keeps its
first EXAMPLES examples; its candidates are its program and up to 5 programs one or two
edits away that fit those examples and differ on 64 probe inputs (alternative_programs).
A task with two or more candidates is ambiguous. The best proposed input separates
if the candidates' answers on it, recomputed here with the interpreter, take two or
more values and equal the answers distinguish reported.
"""

import argparse
import sys
import time
from collections import defaultdict

from worldmodel.datasets import ExecutionError, Task, deepcoder, iter_records
from worldmodel.inference import alternative_programs, distinguish

from worldmodel import load_dynamics


def _answer(program, inputs):
    try:
        return deepcoder.run(program, list(inputs))
    except ExecutionError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--per-length", type=int, default=50)
    parser.add_argument("--examples", type=int, default=2)
    parser.add_argument("--dynamics", default=None)
    args = parser.parse_args()
    head = load_dynamics(args.dynamics).eval() if args.dynamics else None
    picked = defaultdict(list)
    for task in iter_records(args.data, args.split):
        length = len(task.program)
        if length <= 4 and len(picked[length]) < args.per_length:
            picked[length].append(task)
    start = time.perf_counter()
    rows = {}
    for length in sorted(picked):
        ambiguous = separated = confirmed = 0
        for index, full in enumerate(picked[length]):
            task = Task(full.id, full.examples[: args.examples], full.input_types, full.program)
            candidates = [full.program, *alternative_programs(task, full.program, domain=deepcoder, limit=5)]
            if len(candidates) < 2:
                continue
            ambiguous += 1
            questions = distinguish(task, candidates, domain=deepcoder, dynamics=head, count=1, seed=index)
            if not questions:
                continue
            q = questions[0]
            answers = [_answer(p, q.inputs) for p in candidates]
            confirmed += answers == list(q.outputs)
            separated += answers == list(q.outputs) and len({repr(a) for a in answers}) >= 2
        rows[length] = (len(picked[length]), ambiguous, separated, confirmed)
        print(length, rows[length], f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print("| length | tasks | ambiguous | separated by the top input | answers confirmed |")
    print("|---|---|---|---|---|")
    for length, (tasks, ambiguous, separated, confirmed) in rows.items():
        print(f"| {length} | {tasks} | {ambiguous} | {separated} ({separated / max(ambiguous, 1):.1%}) | {confirmed} |")
    total = [sum(r[i] for r in rows.values()) for i in range(4)]
    print(f"| all | {total[0]} | {total[1]} | {total[2]} ({total[2] / max(total[1], 1):.1%}) | {total[3]} |")


if __name__ == "__main__":
    main()
