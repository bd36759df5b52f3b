"""Probe the command line with bad inputs and count what goes wrong (issue 10).

Runs several hundred cases - bad task files, bad option values, outputs that would
overwrite something, damaged checkpoints, signals - each in its own process with a
timeout, and counts:

- tracebacks: a Python traceback on stdout or stderr;
- hangs: a case that ran past its timeout;
- overwritten: an input (or an existing file) whose bytes changed;
- lost: a finished result missing afterwards (a task the run reported done that is
  in neither OUT nor OUT.partial, a bench result a rerun did not reuse);
- orphans: worker processes alive 10 s after their parent was killed;
- exit mismatches: an exit code other than the README's (0 all good, 1 some lines
  bad, 2 usage error; 130 / 143 for solve stopped by Ctrl-C / SIGTERM; -9 SIGKILL).

Usage (from the repository root, with the package installed)::

    python docs/reproduce/probe_bad_inputs.py [--jobs N] [--exec] [--keep DIR]

By default a case is a fork of this process, which has imported the package once, and
runs ``worldmodel.cli.main`` with the case's arguments (as the console script does;
importing torch in every case would take ~4 s each). ``--exec`` runs every case as a
fresh ``worldmodel`` console-script process instead; the signal cases always do.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

A = {"id": "a", "examples": [{"input": [[1, 2]], "output": [2, 4]}, {"input": [[5]], "output": [10]}]}
B = {"id": "b", "examples": [{"input": [[1, 2]], "output": 3}, {"input": [[5, -1]], "output": 4}]}
SLOW = {"id": "slow", "examples": [{"input": [[1, 2, 3]], "output": [7, -9, 200, 3]}, {"input": [[4]], "output": [-5, 1]}]}


def line(record: dict) -> bytes:
    return json.dumps(record).encode()


def example_task(**changes) -> bytes:
    return line({"id": "x", "examples": [{"input": [[1, 2]], "output": 3}], **changes})


def one_example(inputs, output) -> bytes:
    return json.dumps({"id": "x", "examples": [{"input": inputs, "output": output}]}).encode()


@dataclass
class Case:
    """One probe: a command, the files it gets, what it must give."""

    name: str
    argv: list[str]
    expect: int
    files: dict[str, bytes] = field(default_factory=dict)  # written before the run
    protect: list[str] = field(default_factory=list)  # must keep their bytes
    results: tuple[str, list[str]] | None = None  # (file, ids that must be in it)
    timeout: float = 60.0
    signal_after: tuple[str, int, int] | None = None  # (file, lines, signal)
    exec_always: bool = False
    after: object = None  # check(folder, case, outcome) -> dict of extra counts
    watch_workers: bool = False


# -- task files -----------------------------------------------------------------------------

# (name, bad line, expected exit of a file holding A, it, B)
LINES: list[tuple[str, bytes, int]] = [
    ("json-open-brace", b"{", 1),
    ("json-close-brace", b"}", 1),
    ("json-open-bracket", b"[", 1),
    ("json-garbage", b"{oops", 1),
    ("json-null", b"null", 1),
    ("json-true", b"true", 1),
    ("json-number", b"1", 1),
    ("json-string", b'"str"', 1),
    ("json-empty-list", b"[]", 1),
    ("json-list", b"[1, 2]", 1),
    ("json-single-quotes", b"{'id': 'x'}", 1),
    ("json-trailing-comma", b'{"id": "x",}', 1),
    ("json-trailing-garbage", example_task() + b" trailing", 1),
    ("json-nan", b"NaN", 1),
    ("json-infinity", b"Infinity", 1),
    ("json-nul-byte", b"\x00", 1),
    ("json-nul-inside", b'{"id": "x\x00"}', 1),
    ("json-empty-object", b"{}", 1),
    ("utf8-ff", b"\xff", 1),
    ("utf8-bom16", b"\xfe\xff", 1),
    ("utf8-latin1-id", b'{"id": "caf\xe9", "examples": [{"input": [[1]], "output": 1}]}', 1),
    ("utf8-overlong", b'{"id": "\xc0\xaf"}', 1),
    ("utf8-encoded-surrogate", b'{"id": "\xed\xa0\x80"}', 1),
    ("utf8-beyond-unicode", b'{"id": "\xf4\x90\x80\x80"}', 1),
    ("utf8-lone-continuation", b'{"id": "\x80"}', 1),
    ("utf8-truncated", b'{"id": "\xe6\x97"}', 1),
    ("id-lone-surrogate-high", example_task(id="\ud800"), 1),
    ("id-lone-surrogate-low", example_task(id="\udfff"), 1),
    ("id-surrogate-pair", b'{"id": "\\ud83d\\ude00", "examples": [{"input": [[1, 2]], "output": 3}]}', 0),
    ("id-emoji", example_task(id="\U0001f600"), 0),
    ("id-true", example_task(id=True), 1),
    ("id-false", example_task(id=False), 1),
    ("id-float", example_task(id=1.5), 1),
    ("id-list", example_task(id=[]), 1),
    ("id-object", example_task(id={}), 1),
    ("id-null", example_task(id=None), 1),
    ("id-negative-int", example_task(id=-1), 0),
    ("id-huge-int", example_task(id=10**30), 0),
    ("id-5000-digits", b'{"id": ' + b"7" * 5000 + b', "examples": [{"input": [[1]], "output": 1}]}', 1),
    ("id-empty", example_task(id=""), 0),
    ("id-100k-chars", example_task(id="x" * 100_000), 0),
    ("id-newline", example_task(id="a\nb"), 0),
    ("id-same-as-a", example_task(id="a"), 1),
    ("examples-missing", b'{"id": "x"}', 1),
    ("examples-null", example_task(examples=None), 1),
    ("examples-string", example_task(examples="x"), 1),
    ("examples-number", example_task(examples=1), 1),
    ("examples-object", example_task(examples={}), 1),
    ("examples-empty", example_task(examples=[]), 1),
    ("examples-number-item", example_task(examples=[1]), 1),
    ("examples-null-item", example_task(examples=[None]), 1),
    ("examples-list-item", example_task(examples=[[]]), 1),
    ("examples-empty-item", example_task(examples=[{}]), 1),
    ("example-no-output", example_task(examples=[{"input": [[1]]}]), 1),
    ("example-no-input", example_task(examples=[{"output": 1}]), 1),
    ("input-null", one_example(None, 1), 1),
    ("input-string", one_example("x", 1), 1),
    ("input-empty", one_example([], 1), 1),
    ("input-object", one_example({}, 1), 1),
    ("input-null-arg", one_example([None], 1), 1),
    ("input-bool-arg", one_example([True], 1), 1),
    ("input-float-arg", one_example([1.5], 1), 1),
    ("input-float-int-arg", one_example([1.0], 1), 1),
    ("input-bool-in-list", one_example([[True]], 1), 1),
    ("input-float-in-list", one_example([[1.5]], 1), 1),
    ("input-string-in-list", one_example([["a"]], 1), 1),
    ("input-nested-list", one_example([[[1]]], 1), 1),
    ("input-above-range", one_example([[256]], 1), 1),
    ("input-below-range", one_example([[-257]], 1), 1),
    ("input-int-above-range", one_example([1000], 1), 1),
    ("input-list-too-long", one_example([list(range(21))], 1), 1),
    ("input-list-100k", one_example([[1] * 100_000], 1), 1),
    ("input-40-args", one_example([[1]] * 40, [1]), 0),
    ("input-1000-args", one_example([1] * 1000, 1), 0),
    ("output-null", one_example([[1]], None), 1),
    ("output-bool", one_example([[1]], True), 1),
    ("output-string", one_example([[1]], "x"), 1),
    ("output-float", one_example([[1]], 1.0), 1),
    ("output-nan", b'{"id": "x", "examples": [{"input": [[1]], "output": NaN}]}', 1),
    ("output-infinity", b'{"id": "x", "examples": [{"input": [[1]], "output": Infinity}]}', 1),
    ("output-minus-infinity", b'{"id": "x", "examples": [{"input": [[1]], "output": -Infinity}]}', 1),
    ("output-1e400", b'{"id": "x", "examples": [{"input": [[1]], "output": 1e400}]}', 1),
    ("output-nested", one_example([[1]], [[1]]), 1),
    ("output-object", one_example([[1]], {}), 1),
    ("output-above-range", one_example([[1]], 256), 1),
    ("output-list-too-long", one_example([[1]], list(range(21))), 1),
    ("output-5000-digits", b'{"id": "x", "examples": [{"input": [[1]], "output": ' + b"9" * 5000 + b"}]}", 1),
    ("input-5000-digits", b'{"id": "x", "examples": [{"input": [[' + b"9" * 5000 + b']], "output": 1}]}', 1),
    ("input-4000-digits", b'{"id": "x", "examples": [{"input": [[' + b"9" * 4000 + b']], "output": 1}]}', 1),
    ("types-differ", example_task(examples=[{"input": [[1]], "output": 1}, {"input": [1], "output": 1}]), 1),
    ("arity-differs", example_task(examples=[{"input": [[1]], "output": 1}, {"input": [[1], 2], "output": 1}]), 1),
    ("contradictory", example_task(examples=[{"input": [[1]], "output": 1}, {"input": [[1]], "output": 2}]), 1),
    ("contradictory-late", example_task(examples=[{"input": [[k]], "output": k} for k in range(5)] + [{"input": [[2]], "output": 3}]), 1),
    ("duplicate-examples", example_task(examples=[{"input": [[1]], "output": 1}, {"input": [[1]], "output": 1}]), 0),
    ("examples-10000", example_task(examples=[{"input": [[k % 50, 1]], "output": k % 50 + 1} for k in range(10_000)]), 0),
    ("program-int", example_task(program=1), 1),
    ("program-list", example_task(program=[]), 1),
    ("program-empty", example_task(program=""), 1),
    ("program-garbage", example_task(program="garbage"), 1),
    ("program-unknown-primitive", example_task(program="a <- [int] | b <- FOO a"), 1),
    ("program-wrong-types", example_task(program="a <- int | b <- int"), 1),
    ("program-unknown-variable", example_task(program="a <- [int] | b <- SORT z"), 1),
    ("program-surrogate", example_task(program="a <- [int] | b <- \ud800"), 1),
    ("program-null", example_task(program=None), 0),
    ("program-huge-text", example_task(program="a <- [int] | " + "b <- SORT a | " * 20_000), 1),
    ("extra-length-string", example_task(length="x"), 0),
    ("extra-length-inf", b'{"id": "x", "examples": [{"input": [[1, 2]], "output": 3}], "length": 1e400}', 0),
    ("extra-deep-500", b'{"id": "x", "examples": [{"input": [[1, 2]], "output": 3}], "n": ' + b"[" * 500 + b"]" * 500 + b"}", 0),
    ("deep-100k", b"[" * 100_000 + b"]" * 100_000, 1),
    ("deep-100k-unclosed", b"[" * 100_000, 1),
    ("deep-objects-50k", b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, 1),
    ("deep-in-input", b'{"id": "x", "examples": [{"input": ' + b"[" * 20_000 + b"]" * 20_000 + b', "output": 1}]}', 1),
    ("line-2mb", b'{"id": "x", "pad": "' + b"x" * (2 << 20) + b'"}', 1),
    ("line-just-over-1mib", b'{"id": "x", "pad": "' + b"x" * (1 << 20) + b'"}', 1),
]


def task_file(middle: list[bytes], *, ending: bytes = b"\n") -> bytes:
    return ending.join([line(A), *middle, line(B)]) + ending


def solve_case(name: str, data: bytes, expect: int, ids: list[str] | None = None) -> Case:
    return Case(
        f"solve/{name}",
        ["solve", "tasks.jsonl", "--calls", "1e3", "--out", "out.jsonl"],
        expect,
        files={"tasks.jsonl": data},
        protect=["tasks.jsonl"],
        results=("out.jsonl", ["a", "b"] if ids is None else ids) if expect != 2 else None,
    )


def task_file_cases() -> list[Case]:
    cases = [solve_case(name, task_file([bad]), expect) for name, bad, expect in LINES]
    cases += [
        solve_case("dup-7-vs-str", task_file([example_task(id=7), example_task(id="7")]), 1, ["a", "7", "b"]),
        solve_case("dup-line-default-id", task_file([b'{"examples": [{"input": [[1]], "output": 1}]}', example_task(id="line-2")]), 1),
        solve_case("bom", b"\xef\xbb\xbf" + task_file([]), 0),
        solve_case("bom-only", b"\xef\xbb\xbf", 2),
        solve_case("crlf", task_file([], ending=b"\r\n"), 0),
        solve_case("cr-only", task_file([], ending=b"\r"), 1, []),
        solve_case("no-final-newline", task_file([])[:-1], 0),
        solve_case("blank-lines-between", task_file([b"", b"   ", b"\t"]), 0),
        solve_case("empty", b"", 2),
        solve_case("only-newlines", b"\n\n\n", 2),
        solve_case("only-whitespace", b"   \n\t\n \r\n", 2),
        solve_case("only-bad-lines", b"{oops\n[1]\n", 1, []),
        solve_case("utf16-file", task_file([]).decode().encode("utf-16"), 1, []),
        solve_case("latin1-file", task_file([]).replace(b'"a"', b'"\xe9"'), 1, ["b"]),
    ]
    # the same bad lines through bench and speed
    for name, bad, expect in LINES[::3]:
        cases.append(Case(
            f"bench/{name}",
            ["bench", "tasks.jsonl", "--calls", "1e2,1e3", "--workers", "1", "--no-progress", "--out", "b"],
            expect, files={"tasks.jsonl": task_file([bad])}, protect=["tasks.jsonl"],
        ))
    for name, bad, expect in LINES[1::6]:
        cases.append(Case(
            f"speed/{name}",
            ["speed", "--tasks", "tasks.jsonl", "--calls", "1e3", "--programs", "5", "--repeats", "1"],
            expect, files={"tasks.jsonl": task_file([bad])}, protect=["tasks.jsonl"],
        ))
    for command in ("bench", "speed"):
        for name, data in (("empty", b""), ("blank", b"\n \n")):
            argv = (["bench", "tasks.jsonl", "--workers", "1", "--no-progress", "--out", "b"] if command == "bench"
                    else ["speed", "--tasks", "tasks.jsonl", "--programs", "5", "--repeats", "1"])
            cases.append(Case(f"{command}/{name}", argv, 2, files={"tasks.jsonl": data}))
    return cases


# -- option values --------------------------------------------------------------------------

GOOD_FILE = task_file([])
TRAIN_DATA = b"\n".join(line({**A, "id": f"t{i}", "program": "a <- [int] | b <- MAP (*2) a"}) for i in range(16)) + b"\n"


def flag_cases() -> list[Case]:
    bad_numbers = ["nan", "-nan", "inf", "-inf", "1e400", "-1", "0", "1.5", "abc", "", "0x10", "1e-3", str(10**30)]
    cases = []
    for value in bad_numbers:
        cases.append(Case(f"flag/solve --calls {value!r}", ["solve", "tasks.jsonl", "--calls", value], 2, files={"tasks.jsonl": GOOD_FILE}))
        cases.append(Case(f"flag/bench --calls {value!r}", ["bench", "tasks.jsonl", "--calls", value, "--workers", "1", "--no-progress", "--out", "b"], 2, files={"tasks.jsonl": GOOD_FILE}))
        cases.append(Case(f"flag/speed --programs {value!r}", ["speed", "--programs", value], 2))
    for value in ["nan", "inf", "-inf", "0", "-1", "abc", "1e400", "1e10"]:
        cases.append(Case(f"flag/solve --seconds {value!r}", ["solve", "tasks.jsonl", "--seconds", value], 2, files={"tasks.jsonl": GOOD_FILE}))
        cases.append(Case(f"flag/bench --seconds {value!r}", ["bench", "tasks.jsonl", "--seconds", value, "--workers", "1", "--no-progress", "--out", "b"], 2, files={"tasks.jsonl": GOOD_FILE}))
    good = [("solve --calls 1e3", ["solve", "tasks.jsonl", "--calls", "1e3"]), ("solve --calls 1000", ["solve", "tasks.jsonl", "--calls", "1000"]),
            ("solve --calls 1_000", ["solve", "tasks.jsonl", "--calls", "1_000"]), ("solve --seconds 0.5", ["solve", "tasks.jsonl", "--calls", "1e3", "--seconds", "0.5"]),
            ("speed --calls 1e3", ["speed", "--tasks", "tasks.jsonl", "--calls", "1e3", "--programs", "5", "--repeats", "1"]),
            ("bench --calls 1e1,1e2", ["bench", "tasks.jsonl", "--calls", "1e1,1e2", "--workers", "1", "--no-progress", "--out", "b"])]
    cases += [Case(f"flag/{name} (good)", argv, 0, files={"tasks.jsonl": GOOD_FILE}) for name, argv in good]
    other = [
        ["speed", "--repeats", "0"], ["speed", "--repeats", "nan"], ["speed", "--limit", "0", "--tasks", "tasks.jsonl"],
        ["speed", "--calls", "inf", "--tasks", "tasks.jsonl"], ["speed", "--calls", "0", "--tasks", "tasks.jsonl"],
        ["speed", "--domain", "nope"], ["speed", "--seed", "x"],
        ["solve", "tasks.jsonl", "--method", "nope"], ["solve", "tasks.jsonl", "--seed", "-1"], ["solve", "tasks.jsonl", "--seed", str(2**70)],
        ["solve", "missing.jsonl"], ["solve", "."], ["solve", "tasks.jsonl", "--model", "missing-model", "--method", "policy"],
        ["bench", "tasks.jsonl", "--methods", "nope"], ["bench", "tasks.jsonl", "--methods", ","], ["bench", "tasks.jsonl", "--workers", "0"],
        ["bench", "tasks.jsonl", "--workers", "100000"], ["bench", "tasks.jsonl", "--calls", "1e2,,0"], ["bench", "tasks.jsonl", "--seed", "-5"],
        ["generate", "--count", "0", "--out", "g"], ["generate", "--count", "-1", "--out", "g"], ["generate", "--count", "nan", "--out", "g"],
        ["generate", "--count", "10", "--examples", "0", "--out", "g"], ["generate", "--count", "10", "--min-length", "4", "--max-length", "2", "--out", "g"],
        ["generate", "--count", "10", "--shard-size", "0", "--out", "g"], ["generate", "--count", "10", "--probes", "0", "--out", "g"],
        ["generate", "--count", "10", "--workers", "0", "--out", "g"], ["generate", "--count", "10", "--workers", "100000", "--out", "g"],
        ["generate", "--count", "10", "--splits", "train=2", "--out", "g"], ["generate", "--count", "10", "--splits", "nonsense", "--out", "g"],
        ["generate", "--count", "10", "--domain", "nope", "--out", "g"], ["generate", "--count", "10", "--out", "tasks.jsonl"],
        ["train", "--data", "d", "--out", "r", "--dim", "0"], ["train", "--data", "d", "--out", "r", "--dim", "200000"],
        ["train", "--data", "d", "--out", "r", "--token-dim", "-3"], ["train", "--data", "d", "--out", "r", "--epochs", "0"],
        ["train", "--data", "d", "--out", "r", "--batch-size", "0"], ["train", "--data", "d", "--out", "r", "--lr", "nan"],
        ["train", "--data", "d", "--out", "r", "--lr", "-1"], ["train", "--data", "d", "--out", "r", "--lr", "inf"],
        ["train", "--data", "d", "--out", "r", "--time-limit", "nan"], ["train", "--data", "d", "--out", "r", "--time-limit", "-1"],
        ["train", "--data", "d", "--out", "r", "--workers", "-1"], ["train", "--data", "d", "--out", "r", "--chain-length", "1"],
        ["train", "--data", "d", "--out", "r", "--hard-negatives", "100000"], ["train", "--data", "d", "--out", "r", "--max-steps", "0"],
        ["train", "--data", "d", "--out", "r", "--policy-weight", "nan"], ["train", "--data", "d", "--out", "r", "--device", "cuda:7"],
        ["train", "--data", "d", "--out", "r", "--valid-limit", "-1"], ["train", "--data", "nowhere", "--out", "r"],
        ["train", "--data", "d", "--out", "r", "--threads", "0"], ["train", "--data", "d", "--out", "r", "--checkpoint-every", "0"],
        ["evaluate", "--model", "missing", "--data", "d"], ["evaluate", "--model", "tasks.jsonl", "--data", "d"],
        ["evaluate", "--model", "ckpt/m", "--data", "d", "--limit", "-1"], ["evaluate", "--model", "ckpt/m", "--data", "d", "--threads", "0"],
        ["evaluate", "--model", "ckpt/m", "--data", "d", "--neighbour-tasks", "-1"], ["evaluate", "--model", "ckpt/m", "--data", "d", "--split", "nope"],
        ["tasks", "d", "--out", "t.jsonl"], ["tasks", "nowhere", "--out", "t.jsonl"], ["tasks", "d", "--lengths", "a,b", "--out", "t.jsonl"],
        ["tasks", "d", "--per-length", "0", "--out", "t.jsonl"], ["nonexistent-command"], ["solve"], ["bench"],
    ]
    # Data a wrongly accepted train flag would really train on (so it shows as exit 0).
    files = {"tasks.jsonl": GOOD_FILE, "d/train/a.jsonl": TRAIN_DATA, "d/valid/a.jsonl": TRAIN_DATA, "d/test/a.jsonl": TRAIN_DATA}
    small = ["--dim", "16", "--token-dim", "8", "--epochs", "1", "--batch-size", "8", "--quiet", "--valid-limit", "1"]
    for argv in other:
        full = argv[:1] + small + argv[1:] if argv[0] == "train" else argv
        cases.append(Case("flag/" + " ".join(argv), full, 2, files=files, protect=["tasks.jsonl"]))
    return cases


# -- outputs --------------------------------------------------------------------------------


def output_cases() -> list[Case]:
    base = {"tasks.jsonl": GOOD_FILE}
    solve = ["solve", "tasks.jsonl", "--calls", "1e3", "--out"]
    cases = [
        Case("out/solve onto its input", solve + ["tasks.jsonl"], 2, files=base, protect=["tasks.jsonl"]),
        Case("out/solve onto its input --force", solve + ["tasks.jsonl", "--force"], 2, files=base, protect=["tasks.jsonl"]),
        Case("out/solve onto ./tasks.jsonl --force", solve + ["./tasks.jsonl", "--force"], 2, files=base, protect=["tasks.jsonl"]),
        Case("out/solve onto an existing file", solve + ["mine.txt"], 2, files={**base, "mine.txt": b"mine\n"}, protect=["tasks.jsonl", "mine.txt"]),
        Case("out/solve onto an existing partial", solve + ["out.jsonl"], 2, files={**base, "out.jsonl.partial": b'{"id": "done"}\n'}, protect=["out.jsonl.partial"]),
        Case("out/solve onto a folder", solve + ["d"], 2, files={**base, "d/x": b"x"}, protect=["d/x"]),
        Case("out/solve under a file", solve + ["tasks.jsonl/x.jsonl"], 2, files=base, protect=["tasks.jsonl"]),
        Case("out/solve --force replaces", solve + ["mine.txt", "--force"], 0, files={**base, "mine.txt": b"mine\n"}, protect=["tasks.jsonl"], results=("mine.txt", ["a", "b"])),
        Case("out/solve into a new folder", solve + ["new/deeper/out.jsonl"], 0, files=base, protect=["tasks.jsonl"], results=("new/deeper/out.jsonl", ["a", "b"])),
        Case("out/tasks onto an existing file", ["tasks", "d", "--out", "mine.txt"], 2, files={"mine.txt": b"mine\n", "d/x": b""}, protect=["mine.txt"]),
        Case("out/evaluate onto its checkpoint json", ["evaluate", "--model", "ckpt/m", "--data", "d", "--out", "ckpt/m.json", "--force"], 2, files={"d/x": b""}, protect=["ckpt/m.json", "ckpt/m.safetensors"]),
        Case("out/evaluate onto its checkpoint tensors", ["evaluate", "--model", "ckpt/m.json", "--data", "d", "--out", "ckpt/m.safetensors", "--force"], 2, files={"d/x": b""}, protect=["ckpt/m.json", "ckpt/m.safetensors"]),
        Case("out/evaluate onto an existing file", ["evaluate", "--model", "ckpt/m", "--data", "d", "--out", "mine.txt"], 2, files={"d/x": b"", "mine.txt": b"mine\n"}, protect=["mine.txt"]),
        Case("out/bench reads its own results.jsonl", ["bench", "b/results.jsonl", "--calls", "1e2", "--workers", "1", "--no-progress", "--out", "b"], 2, files={"b/results.jsonl": GOOD_FILE}, protect=["b/results.jsonl"]),
        Case("out/bench fabricated results.jsonl", ["bench", "tasks.jsonl", "--calls", "1e2", "--workers", "1", "--no-progress", "--out", "b"], 2,
             files={**base, "b/results.jsonl": json.dumps({"method": "enumerate", "task": "a", "budget": 100, "verified": True, "calls": 1, "seconds": 0.0, "program": "a <- [int]", "derived": False, "stopped_by_seconds": False}).encode() + b"\n"},
             protect=["b/results.jsonl", "tasks.jsonl"]),
        Case("out/bench bench.json without run.json", ["bench", "tasks.jsonl", "--calls", "1e2", "--workers", "1", "--no-progress", "--out", "b"], 2, files={**base, "b/bench.json": b"{}\n"}, protect=["b/bench.json"]),
        Case("out/bench deep run.json", ["bench", "tasks.jsonl", "--calls", "1e2", "--workers", "1", "--no-progress", "--out", "b"], 2, files={**base, "b/run.json": b"[" * 100_000, "b/results.jsonl": b""}, protect=["b/run.json"]),
        Case("out/bench out is a file", ["bench", "tasks.jsonl", "--out", "tasks.jsonl"], 2, files=base, protect=["tasks.jsonl"]),
    ]
    return cases


# -- checkpoints ----------------------------------------------------------------------------


def checkpoint_files(folder: Path) -> dict[str, bytes]:
    """A small valid checkpoint with a policy (made once, copied per case)."""
    from worldmodel import ModelConfig, WorldModel

    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_policy()
    model.save(folder / "m")
    return {"ckpt/m.json": (folder / "m.json").read_bytes(), "ckpt/m.safetensors": (folder / "m.safetensors").read_bytes()}


def checkpoint_cases(good: dict[str, bytes]) -> list[Case]:
    record = json.loads(good["ckpt/m.json"])
    tensors = good["ckpt/m.safetensors"]

    def with_record(change) -> dict[str, bytes]:
        data = json.loads(json.dumps(record))
        change(data)
        return {"ckpt/m.json": json.dumps(data).encode(), "ckpt/m.safetensors": tensors}

    def older(change) -> dict[str, bytes]:
        """As a checkpoint saved before the configs went inside the tensors file."""
        from safetensors.torch import load, save

        data = save(load(tensors))
        new = json.loads(json.dumps(record))
        change(new)
        new["sha256"] = hashlib.sha256(data).hexdigest()
        return {"ckpt/m.json": json.dumps(new).encode(), "ckpt/m.safetensors": data}

    def with_tensors(data: bytes) -> dict[str, bytes]:
        new = dict(record, sha256=hashlib.sha256(data).hexdigest())
        return {"ckpt/m.json": json.dumps(new).encode(), "ckpt/m.safetensors": data}

    damages: list[tuple[str, dict[str, bytes]]] = [
        ("json-not-json", {"ckpt/m.json": b"{not json", "ckpt/m.safetensors": tensors}),
        ("json-deep", {"ckpt/m.json": b"[" * 100_000, "ckpt/m.safetensors": tensors}),
        ("json-huge-int", {"ckpt/m.json": b'{"version": ' + b"9" * 5000 + b"}", "ckpt/m.safetensors": tensors}),
        ("json-not-utf8", {"ckpt/m.json": b"\xff\xfe{}", "ckpt/m.safetensors": tensors}),
        ("json-too-large", {"ckpt/m.json": b" " * (3 << 20), "ckpt/m.safetensors": tensors}),
        ("json-list", {"ckpt/m.json": b"[]", "ckpt/m.safetensors": tensors}),
        ("json-empty", {"ckpt/m.json": b"", "ckpt/m.safetensors": tensors}),
        ("tensors-missing", {"ckpt/m.json": good["ckpt/m.json"]}),
        ("tensors-empty", with_tensors(b"")),
        ("tensors-truncated", with_tensors(tensors[:100])),
        ("tensors-random", with_tensors(os.urandom(1000))),
        ("tensors-header-lies", with_tensors((10**12).to_bytes(8, "little") + b"{}")),
        ("tensors-flipped", {"ckpt/m.json": good["ckpt/m.json"], "ckpt/m.safetensors": tensors[:-5] + bytes([tensors[-5] ^ 0xFF]) + tensors[-4:]}),
    ]
    for name, change in [
        ("format", lambda r: r.update(format="other")), ("format-missing", lambda r: r.pop("format")),
        ("version-2", lambda r: r.update(version=2)), ("version-true", lambda r: r.update(version=True)), ("version-str", lambda r: r.update(version="1")),
        ("sha-missing", lambda r: r.pop("sha256")), ("sha-list", lambda r: r.update(sha256=["x"])), ("sha-wrong", lambda r: r.update(sha256="0" * 64)),
        ("model-missing", lambda r: r.pop("model")), ("model-list", lambda r: r.update(model=[1])), ("model-null", lambda r: r.update(model=None)),
        ("dim-0", lambda r: r["model"].update(dim=0)), ("dim-negative", lambda r: r["model"].update(dim=-1)),
        ("dim-200000", lambda r: r["model"].update(dim=200_000)), ("dim-4096", lambda r: r["model"].update(dim=4096)),
        ("dim-float", lambda r: r["model"].update(dim=16.0)), ("dim-string", lambda r: r["model"].update(dim="16")),
        ("dim-bool", lambda r: r["model"].update(dim=True)), ("dim-null", lambda r: r["model"].update(dim=None)),
        ("token-dim-4096", lambda r: r["model"].update(token_dim=4096)), ("max-variables-10**9", lambda r: r["model"].update(max_variables=10**9)),
        ("model-unknown-field", lambda r: r["model"].update(colour="red")), ("domain-unknown", lambda r: r["model"].update(domain="nope")),
        ("domain-int", lambda r: r["model"].update(domain=3)), ("lookahead-int", lambda r: r["model"].update(lookahead=1)),
        ("lookahead-flipped", lambda r: r["model"].update(lookahead=False)), ("model-deep-field", lambda r: r["model"].update(dim=[[[[1]]]])),
        ("policy-list", lambda r: r.update(policy=[1])), ("policy-flow-layers-float", lambda r: r["policy"].update(flow_layers=2.5)),
        ("policy-flow-layers-0", lambda r: r["policy"].update(flow_layers=0)), ("policy-flow-layers-10**6", lambda r: r["policy"].update(flow_layers=10**6)),
        ("policy-hidden-4096", lambda r: r["policy"].update(hidden_features=4096)), ("policy-hidden-string", lambda r: r["policy"].update(hidden_features="64")),
        ("policy-unknown-field", lambda r: r["policy"].update(colour="red")), ("policy-max-length-0", lambda r: r["policy"].update(max_length=0)),
        ("policy-dropped", lambda r: r.pop("policy")),
    ]:
        damages.append((name, with_record(change)))
    for name, change in [
        ("older/dim-4096", lambda r: r["model"].update(dim=4096)), ("older/dim-24", lambda r: r["model"].update(dim=24)),
        ("older/token-dim-4096", lambda r: r["model"].update(token_dim=4096)), ("older/policy-hidden-4096", lambda r: r["policy"].update(hidden_features=4096)),
        ("older/policy-64-layers", lambda r: r["policy"].update(flow_layers=64, hidden_features=1024)), ("older/policy-dropped", lambda r: r.pop("policy")),
        ("older/max-program-tokens-8192", lambda r: r["model"].update(max_program_tokens=8192)),
    ]:
        damages.append((name, older(change)))
    cases = []
    for name, files in damages:
        cases.append(Case(f"ckpt/solve/{name}", ["solve", "tasks.jsonl", "--method", "policy", "--model", "ckpt/m", "--calls", "50"], 2,
                          files={**files, "tasks.jsonl": GOOD_FILE}, protect=["tasks.jsonl", *files]))
    for name, files in damages[::4]:
        cases.append(Case(f"ckpt/evaluate/{name}", ["evaluate", "--model", "ckpt/m", "--data", "d"], 2,
                          files={**files, "d/test/a.jsonl": GOOD_FILE}, protect=list(files)))
        cases.append(Case(f"ckpt/bench/{name}", ["bench", "tasks.jsonl", "--methods", "policy", "--model", "ckpt/m", "--calls", "10", "--workers", "1", "--no-progress", "--out", "b"], 2,
                          files={**files, "tasks.jsonl": GOOD_FILE}, protect=list(files)))
    cases.append(Case("ckpt/solve/good (control)", ["solve", "tasks.jsonl", "--method", "policy", "--model", "ckpt/m", "--calls", "20", "--out", "out.jsonl"], 0,
                      files={**good, "tasks.jsonl": GOOD_FILE}, protect=list(good), results=("out.jsonl", ["a", "b"]), timeout=120))
    return cases


# -- signals --------------------------------------------------------------------------------


def slow_file(quick: int, slow: int) -> bytes:
    lines = [line({**A, "id": f"q{i}"}) for i in range(quick)] + [line({**SLOW, "id": f"s{i}"}) for i in range(slow)]
    return b"\n".join(lines) + b"\n"


def lines_done(stdout: str) -> list[str]:
    """Ids the run reported finished on stdout."""
    return [x.split(":")[0] for x in stdout.splitlines() if ": solved in " in x or ": not solved (" in x]


def check_solve_kept(folder: Path, case: Case, outcome: dict) -> dict:
    """Every task the run reported done, and at least the lines that were on disk when
    the signal was sent, are in OUT or OUT.partial."""
    done = lines_done(outcome["stdout"])
    kept = []
    for name in ("out.jsonl", "out.jsonl.partial"):
        path = folder / name
        if path.exists():
            kept += [json.loads(x)["id"] for x in path.read_text().splitlines()]
    on_disk = case.signal_after[1]
    return {"lost": max(len(set(done) - set(kept)), on_disk - len(kept))}


def bench_rerun(folder: Path, case: Case, outcome: dict) -> dict:
    """After a SIGKILL of bench, a rerun must reuse every finished result line."""
    results = folder / "b" / "results.jsonl"
    finished = [x for x in results.read_text().splitlines() if x.strip()] if results.exists() else []
    rerun = subprocess.run(console(case.argv), cwd=folder, capture_output=True, text=True, timeout=300)
    extra = {"tracebacks": int("Traceback" in rerun.stderr + rerun.stdout), "exit_mismatch": int(rerun.returncode != 0)}
    reused = 0
    for text in rerun.stdout.splitlines():
        if "results reused" in text:
            reused = int(text.split(" runs now, ")[1].split(" results reused")[0])
    good = 0
    for x in finished:
        try:
            json.loads(x)
            good += 1
        except ValueError:
            pass  # the line the kill cut short
    extra["lost"] = max(0, good - reused)
    return extra


def rerun_ok(folder: Path, case: Case, outcome: dict) -> dict:
    rerun = subprocess.run(console(case.argv), cwd=folder, capture_output=True, text=True, timeout=400)
    return {"tracebacks": int("Traceback" in rerun.stderr + rerun.stdout), "exit_mismatch": int(rerun.returncode != 0)}


def signal_cases() -> list[Case]:
    cases = []
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)):
        for quick in (0, 1, 3, 5):
            cases.append(Case(
                f"signal/solve {sig.name} after {quick} finished",
                ["solve", "tasks.jsonl", "--calls", "1e9", "--seconds", "60", "--out", "out.jsonl"],
                code, files={"tasks.jsonl": slow_file(quick, 3)}, protect=["tasks.jsonl"],
                signal_after=("out.jsonl.partial", quick, int(sig)), exec_always=True, after=check_solve_kept, timeout=120,
            ))
    slow_bench = slow_file(4, 3)
    cases.append(Case("signal/bench SIGKILL then rerun", ["bench", "tasks.jsonl", "--calls", "1e2,1e7", "--seconds", "5", "--workers", "2", "--no-progress", "--out", "b"],
                      -9, files={"tasks.jsonl": slow_bench}, protect=["tasks.jsonl"], signal_after=("b/results.jsonl", 4, int(signal.SIGKILL)),
                      exec_always=True, after=bench_rerun, watch_workers=True, timeout=120))
    cases.append(Case("signal/generate SIGKILL then rerun", ["generate", "--count", "20000", "--max-length", "3", "--workers", "2", "--quiet", "--shard-size", "500", "--out", "g"],
                      -9, signal_after=("g/train", 3, int(signal.SIGKILL)), exec_always=True, after=rerun_ok, watch_workers=True, timeout=120))
    train = ["train", "--data", "d", "--out", "r", "--dim", "16", "--token-dim", "8", "--epochs", "4", "--batch-size", "2", "--quiet",
             "--valid-limit", "1", "--hard-negatives", "1", "--checkpoint-every", "1"]
    cases.append(Case("signal/train SIGKILL then rerun", train, -9, files={"d/train/a.jsonl": TRAIN_DATA, "d/valid/a.jsonl": TRAIN_DATA},
                      signal_after=("r/checkpoints", 1, int(signal.SIGKILL)), exec_always=True, after=rerun_ok, timeout=180))
    return cases


# -- running --------------------------------------------------------------------------------


def console(argv: list[str]) -> list[str]:
    script = Path(sys.executable).with_name("worldmodel")
    if script.exists():
        return [str(script), *argv]
    return [sys.executable, "-c", "from worldmodel.cli import main; main()", *argv]


def count_entries(path: Path) -> int:
    if path.is_dir():
        return sum(1 for _ in path.iterdir())
    if path.exists():
        return len(path.read_bytes().splitlines())
    return 0


def children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.update(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Forked:
    """A case run in a fork of this (pre-imported) process."""

    def __init__(self, argv: list[str], folder: Path):
        self.out, self.err = folder / ".stdout", folder / ".stderr"
        self.pid = os.fork()
        if self.pid == 0:  # the child: run the command line as the console script does
            code = 1
            try:
                os.chdir(folder)
                for fd, path in ((1, self.out), (2, self.err)):
                    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(handle, fd)
                    os.close(handle)
                sys.stdin = open(os.devnull)
                from worldmodel.cli import main

                sys.argv = ["worldmodel", *argv]
                try:
                    main(args=argv, prog_name="worldmodel")
                    code = 0
                except SystemExit as stop:
                    if stop.code is None or isinstance(stop.code, int):
                        code = stop.code or 0
                    else:
                        print(stop.code, file=sys.stderr)
                        code = 1
                except BaseException:
                    traceback.print_exc()
                    code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def output(self) -> tuple[str, str]:
        return (self.out.read_text(errors="replace") if self.out.exists() else "",
                self.err.read_text(errors="replace") if self.err.exists() else "")


class Executed(Forked):
    """A case run as a fresh console-script process."""

    def __init__(self, argv: list[str], folder: Path):
        self.out, self.err = folder / ".stdout", folder / ".stderr"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            # unbuffered, so that every line a killed run printed is in the file
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(console(argv), cwd=folder, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.process.pid
        self.returncode = None

    def poll(self) -> int | None:
        self.returncode = self.process.poll()
        return self.returncode


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def prepare(case: Case, folder: Path, shared: dict[str, bytes]) -> dict[str, str | None]:
    folder.mkdir(parents=True)
    files = dict(case.files)
    if any(a.startswith("ckpt/") for a in case.argv) and not any(k.startswith("ckpt/") for k in files):
        files.update(shared)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {name: digest(folder / name) for name in case.protect}


def finish(case: Case, folder: Path, run: Forked, hung: bool, before: dict) -> dict:
    stdout, stderr = run.output()
    counts = collections.Counter()
    counts["tracebacks"] += int("Traceback (most recent call last)" in stdout + stderr)
    counts["hangs"] += int(hung)
    if not hung:
        counts["exit_mismatch"] += int(run.returncode != case.expect)
    counts["overwritten"] += sum(digest(folder / name) != sha for name, sha in before.items() if sha is not None)
    if case.results is not None and not hung:
        path = folder / case.results[0]
        try:
            kept = {json.loads(x)["id"] for x in path.read_text().splitlines()} if path.exists() else set()
        except ValueError:
            kept = set()
        counts["lost"] += len(set(case.results[1]) - kept)
    outcome = {"stdout": stdout, "stderr": stderr, "code": run.returncode, "hung": hung}
    return {"counts": counts, "code": run.returncode, "stderr": stderr[-400:], "outcome": outcome}


def run_all(cases: list[Case], root: Path, *, jobs: int, use_exec: bool, shared: dict[str, bytes]) -> list[dict]:
    pending = list(enumerate(cases))
    running: dict[int, tuple] = {}
    reports: list[dict] = [{} for _ in cases]
    while pending or running:
        while pending and len(running) < jobs:
            index, case = pending.pop(0)
            folder = root / f"{index:04d}"
            before = prepare(case, folder, shared)
            kind = Executed if (use_exec or case.exec_always) else Forked
            sys.stdout.flush()
            run = kind(case.argv, folder)
            running[index] = (case, folder, run, time.monotonic(), before, False, set())
        for index, (case, folder, run, start, before, signalled, workers) in list(running.items()):
            if case.watch_workers and not signalled:
                workers |= children(run.pid)
            if case.signal_after and not signalled and run.poll() is None:
                name, count, sig = case.signal_after
                if (folder / name).exists() and count_entries(folder / name) >= count:
                    time.sleep(0.3)  # well inside the loop that writes it
                    if case.watch_workers:
                        workers |= children(run.pid)
                    run.send_signal(sig)
                    running[index] = (case, folder, run, start, before, True, workers)
            hung = time.monotonic() - start > case.timeout
            if hung and run.poll() is None:
                run.send_signal(signal.SIGKILL)
                while run.poll() is None:
                    time.sleep(0.01)
            if run.poll() is not None:
                del running[index]
                report = finish(case, folder, run, hung, before)
                if case.watch_workers:
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline and any(map(alive, workers)):
                        time.sleep(0.1)
                    left = [w for w in workers if alive(w)]
                    report["counts"]["orphans"] += len(left)
                    report["workers_watched"] = len(workers)
                    for w in left:
                        os.kill(w, signal.SIGKILL)
                reports[index] = {"case": case.name, "expect": case.expect, **report}
        time.sleep(0.01)
    # Checks that rerun a command (resume after a kill) go last, so that they never hold
    # up the loop above while another case waits for its signal.
    for index, case in enumerate(cases):
        if case.after is not None and not reports[index]["outcome"]["hung"]:
            reports[index]["counts"].update(case.after(root / f"{index:04d}", case, reports[index]["outcome"]))
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument("--exec", dest="use_exec", action="store_true", help="a fresh process per case")
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--only", default=None, help="run only cases whose name contains this")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot  # noqa: F401  (imported once here, not in every forked case)
    import worldmodel.inference  # noqa: F401

    import worldmodel.cli  # noqa: F401

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="probe-"))
    if root.exists() and any(root.iterdir()):
        sys.exit(f"{root} is not empty")
    root.mkdir(parents=True, exist_ok=True)
    # The checkpoint is made in a fork so that this process never starts torch's threads.
    shared_path = root / "shared"
    shared_path.mkdir()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            files = checkpoint_files(shared_path)
            (shared_path / "files.json").write_text(json.dumps({k: v.hex() for k, v in files.items()}))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    shared = {k: bytes.fromhex(v) for k, v in json.loads((shared_path / "files.json").read_text()).items()}

    cases = task_file_cases() + flag_cases() + output_cases() + checkpoint_cases(shared) + signal_cases()
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    start = time.perf_counter()
    reports = run_all(cases, root / "cases", jobs=args.jobs, use_exec=args.use_exec, shared=shared)
    total = collections.Counter()
    for report in reports:
        total.update(report["counts"])
    for report in reports:
        if any(report["counts"].values()):
            print(f"PROBLEM {report['case']}: {dict(report['counts'])} exit {report['code']} (expected {report['expect']})\n"
                  f"    stderr: {report['stderr'].strip()[-300:]!r}")
    by_group = collections.Counter(r["case"].split("/")[0] for r in reports)
    summary = {
        "cases": len(reports),
        "groups": dict(by_group),
        **{k: total.get(k, 0) for k in ("tracebacks", "hangs", "overwritten", "lost", "orphans", "exit_mismatch")},
        "workers_watched": sum(r.get("workers_watched", 0) for r in reports),
        "seconds": round(time.perf_counter() - start, 1),
        "mode": "exec" if args.use_exec else "fork (signal cases exec)",
    }
    print(json.dumps(summary, indent=1))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if any(summary[k] for k in ("tracebacks", "hangs", "overwritten", "lost", "orphans", "exit_mismatch")) else 0)


if __name__ == "__main__":
    main()
