"""The standing bad-input suite: every bad input gets a clear error, and nothing a user
owns is overwritten or lost.

One test per kind of bad input (issue 10, plus the ones found while fixing it). Each
checks the exit code (README: 0 all good, 1 some lines bad, 2 usage error), that the
message names the file and line or the option, that no traceback is printed, and that
files already there are left as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from worldmodel.cli import main

GOOD = {"id": "double", "examples": [{"input": [[1, 2]], "output": [2, 4]}, {"input": [[5]], "output": [10]}]}
GOOD2 = {"id": "sum", "examples": [{"input": [[1, 2]], "output": 3}, {"input": [[5, -1]], "output": 4}]}
# No short program maps these inputs to these outputs: enumeration runs until its limit.
SLOW = {"id": "slow", "examples": [{"input": [[1, 2, 3]], "output": [7, -9, 200, 3]}, {"input": [[4]], "output": [-5, 1]}]}


def _line(record: dict) -> str:
    return json.dumps(record)


def _write(path: Path, lines: list[str | bytes]) -> Path:
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    path.write_bytes(data)
    return path


def _invoke(args: list[str]):
    return CliRunner().invoke(main, [str(a) for a in args])


def _no_traceback(result) -> None:
    text = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _peak_kb() -> int:
    """This process's peak resident memory so far, in KB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration):
        return 0


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from worldmodel.cli import main; main()", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


# -- 4, 5, 12: one bad line is one reported line; the lines after it are still solved ---------

BAD_LINES = [
    pytest.param(b'{"id": "x", "examples": [{"input": [[1]], "output": 1}], "note": "caf\xe9"}', "not UTF-8: byte 0xe9", id="bad-utf8-byte"),
    pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep-nesting"),
    pytest.param('{"id": "x", "examples": [{"input": [[' + "9" * 5000 + ']], "output": 1}]}', "more than 4300 digits", id="5000-digit-int"),
    pytest.param('{"id": "\\ud800", "examples": [{"input": [[1]], "output": 1}]}', "lone surrogate", id="lone-surrogate-id"),
    pytest.param(_line({**GOOD, "id": 7}), "duplicate id '7': line 2 has it already", id="duplicate-id-7-vs-str"),
    pytest.param(
        _line({"id": "c", "examples": [{"input": [[1]], "output": 1}, {"input": [[1]], "output": 2}]}),
        "examples[1] has the input of examples[0] but another output",
        id="contradictory-examples",
    ),
    pytest.param('{"id": "x", "examples": [{"input": [[' + ", ".join(["1"] * 100_000) + ']], "output": 1}]}', "list too long", id="huge-list-short-message"),
]


@pytest.mark.parametrize("command", ["solve", "bench"])
@pytest.mark.parametrize(("bad", "reason"), BAD_LINES)
def test_one_bad_line_is_reported_and_the_rest_are_solved(tmp_path, command, bad, reason):
    # line 1 good, line 2 the task "7" (for the duplicate case), line 3 bad, line 4 good
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD), _line({**GOOD2, "id": "7"}), bad, _line({**GOOD2, "id": "last"})])
    before = _digest(tasks)
    if command == "solve":
        result = _invoke(["solve", tasks, "--calls", "1e3", "--out", tmp_path / "r.jsonl"])
    else:
        result = _invoke(["bench", tasks, "--calls", "1e2,1e3", "--workers", "1", "--no-progress", "--out", tmp_path / "b"])
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    errors = [e for e in result.stderr.splitlines() if e.startswith(f"{tasks}:")]
    assert len(errors) == 1 and errors[0].startswith(f"{tasks}:3: ") and reason in errors[0], errors
    assert len(errors[0]) < 400  # a line's worth, whatever the size of the bad value
    if command == "solve":
        ids = [json.loads(x)["id"] for x in (tmp_path / "r.jsonl").read_text().splitlines()]
        assert ids == ["double", "7", "last"]
    else:
        table = json.loads((tmp_path / "b" / "bench.json").read_text())
        assert table["total"] == 3 and table["malformed_lines"] == 1
    assert _digest(tasks) == before


def test_a_100_mb_line_is_skipped_in_bounded_memory(tmp_path):
    import tracemalloc

    from worldmodel.datasets import deepcoder, read_tasks

    tasks = tmp_path / "tasks.jsonl"
    with open(tasks, "wb") as handle:
        handle.write((_line(GOOD) + "\n").encode() + b'{"id": "big", "pad": "')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b'"}\n' + (_line(GOOD2) + "\n").encode())
    del chunk
    tracemalloc.start()
    try:
        result = read_tasks(tasks, deepcoder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [t.id for t in result.tasks] == ["double", "sum"]
    assert str(result.errors[0]).startswith(f"{tasks}:2: line longer than 1048576 bytes")
    assert peak < 8 << 20, f"reading a 100 MB line took {peak >> 20} MB"


@pytest.mark.parametrize("command", ["solve", "bench", "speed"])
@pytest.mark.parametrize("content", [b"", b"\n \n\t\n", b"\xef\xbb\xbf"], ids=["empty", "blank-lines", "bom-only"])
def test_an_empty_task_file_is_a_usage_error(tmp_path, command, content):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_bytes(content)
    args = {
        "solve": ["solve", tasks, "--out", tmp_path / "r.jsonl"],
        "bench": ["bench", tasks, "--workers", "1", "--no-progress", "--out", tmp_path / "b"],
        "speed": ["speed", "--tasks", tasks, "--programs", "5", "--repeats", "1"],
    }[command]
    result = _invoke(args)
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"{tasks}: no tasks (the file is empty)" in result.stderr
    assert not (tmp_path / "r.jsonl").exists() and not (tmp_path / "b").exists()


def test_a_byte_order_mark_is_not_a_bad_line(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_bytes(b"\xef\xbb\xbf" + _line(GOOD).encode() + b"\n")
    result = _invoke(["solve", tasks, "--calls", "1e3"])
    assert result.exit_code == 0 and "solved 1/1" in result.output, result.output


# -- 7: one validation layer for numbers on the command line -------------------------------

BAD_NUMBERS = [
    (["solve", "{tasks}", "--calls", "nan"], "--calls"),
    (["solve", "{tasks}", "--calls", "inf"], "--calls"),
    (["solve", "{tasks}", "--calls", "1e400"], "--calls"),
    (["solve", "{tasks}", "--calls", "-5"], "--calls"),
    (["solve", "{tasks}", "--calls", "0"], "--calls"),
    (["solve", "{tasks}", "--calls", "1e13"], "--calls"),
    (["solve", "{tasks}", "--seconds", "nan"], "--seconds"),
    (["solve", "{tasks}", "--seconds", "inf"], "--seconds"),
    (["solve", "{tasks}", "--seconds", "0"], "--seconds"),
    (["solve", "{tasks}", "--seed", "-1"], "--seed"),
    (["solve", "{tasks}", "--seed", str(2**70)], "--seed"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--calls", "1e2,nan"], "--calls"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--calls", "inf"], "--calls"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--calls", "1e400"], "--calls"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--calls", ","], "--calls"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--seconds", "nan"], "--seconds"),
    (["bench", "{tasks}", "--out", "{tmp}/b", "--workers", "100000"], "--workers"),
    (["speed", "--programs", "0"], "--programs"),
    (["speed", "--repeats", "0"], "--repeats"),
    (["speed", "--programs", "nan"], "--programs"),
    (["speed", "--tasks", "{tasks}", "--calls", "inf"], "--calls"),
    (["speed", "--tasks", "{tasks}", "--limit", "0"], "--limit"),
    (["generate", "--count", "10", "--workers", "100000", "--out", "{tmp}/g"], "--workers"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/run", "--dim", "200000"], "dim must be in [1, 4096]"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/run", "--lr", "nan"], "lr must be a finite number"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/run", "--threads", "0"], "--threads"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/run", "--hard-negatives", "100000"], "hard_negatives must be in [0, 1024]"),
    (["evaluate", "--model", "{tmp}/m", "--data", "{tmp}", "--threads", "0"], "--threads"),
    (["evaluate", "--model", "{tmp}/m", "--data", "{tmp}", "--limit", "-1"], "--limit"),
    (["tasks", "{tmp}", "--per-length", "0", "--out", "{tmp}/run"], "--per-length"),
]


def _number_id(args: list[str]) -> str:
    shown = [a for a in args if "{" not in a and a not in ("--out", "--data", "--tasks")]
    return " ".join(shown)


@pytest.mark.parametrize(("args", "names"), BAD_NUMBERS, ids=[_number_id(a) for a, _ in BAD_NUMBERS])
def test_bad_numbers_are_usage_errors(tmp_path, args, names):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    result = _invoke([a.format(tasks=tasks, tmp=tmp_path) for a in args])
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert names in result.stderr, result.stderr
    assert not any((tmp_path / name).exists() for name in ("run", "g", "b"))


def test_speed_takes_calls_in_e_notation_like_solve(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    result = _invoke(["speed", "--tasks", tasks, "--calls", "1e3", "--programs", "5", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert "budget 1,000 calls each" in result.output


# -- 11: speed reports bad lines like solve ------------------------------------------------


def test_speed_reports_a_malformed_line_and_exits_1(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD), "{oops", _line(GOOD2)])
    result = _invoke(["speed", "--tasks", tasks, "--calls", "1e3", "--programs", "5", "--repeats", "1"])
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    assert f"{tasks}:2: bad JSON" in result.stderr and "enumeration on 2 tasks" in result.output


# -- 1, 2: outputs never destroy inputs, existing files, or finished results ----------------


@pytest.mark.parametrize(
    ("setup", "force", "message"),
    [
        ("same", False, "is the input file"),
        ("same", True, "is the input file"),
        ("symlink", True, "is the input file"),
        ("hardlink", True, "is the input file"),
        ("existing", False, "exists; pass --force"),
        ("partial", False, "holds the finished results of an interrupted run"),
        ("under-a-file", True, "is a file, not a folder"),
    ],
)
def test_solve_out_never_overwrites(tmp_path, setup, force, message):
    tasks = _write(tmp_path / "v.jsonl", [_line(GOOD)])
    out = tmp_path / "out.jsonl"
    if setup == "same":
        out = tasks
    elif setup == "symlink":
        out.symlink_to(tasks)
    elif setup == "hardlink":
        os.link(tasks, out)
    elif setup == "existing":
        out.write_text("mine\n")
    elif setup == "partial":
        (tmp_path / "out.jsonl.partial").write_text('{"id": "finished earlier"}\n')
    elif setup == "under-a-file":
        out = tasks / "out.jsonl"
    files = {p: _digest(p) for p in tmp_path.iterdir()}
    result = _invoke(["solve", tasks, "--calls", "1e3", "--out", out, *(["--force"] if force else [])])
    _no_traceback(result)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert {p: _digest(p) for p in tmp_path.iterdir()} == files


def test_solve_force_replaces_an_existing_output_only_at_the_end(tmp_path):
    tasks = _write(tmp_path / "v.jsonl", [_line(GOOD), _line(GOOD2)])
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    result = _invoke(["solve", tasks, "--calls", "1e3", "--out", out, "--force"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["double", "sum"]
    assert not (tmp_path / "out.jsonl.partial").exists()


@pytest.mark.parametrize(
    ("command", "target"),
    [("tasks", "existing"), ("evaluate", "model.json"), ("evaluate", "model.safetensors"), ("evaluate", "existing")],
)
def test_other_outputs_never_overwrite(tmp_path, command, target):
    from worldmodel import ModelConfig, WorldModel

    WorldModel(ModelConfig(dim=16, token_dim=8)).save(tmp_path / "model")
    (tmp_path / "data").mkdir()
    (tmp_path / "existing").write_text("mine\n")
    files = {p: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    if command == "tasks":
        args = ["tasks", tmp_path / "data", "--out", tmp_path / target]
    else:
        args = ["evaluate", "--model", tmp_path / "model", "--data", tmp_path / "data", "--out", tmp_path / target]
    result = _invoke(args + (["--force"] if target != "existing" else []))
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert ("is the input file" if target != "existing" else "exists; pass --force") in result.stderr
    assert {p: _digest(p) for p in tmp_path.iterdir() if p.is_file()} == files


def test_tasks_from_a_folder_that_is_no_dataset_is_exit_2(tmp_path):
    result = _invoke(["tasks", tmp_path, "--out", tmp_path / "t.jsonl"])
    _no_traceback(result)
    assert result.exit_code == 2 and "manifest.json is missing" in result.stderr
    assert not (tmp_path / "t.jsonl").exists()


def _slow_solve(folder: Path, finished: int) -> tuple[subprocess.Popen, Path, Path]:
    """solve on ``finished`` quick tasks, then slow ones: (process, tasks, out)."""
    folder.mkdir()
    lines = [_line({**GOOD, "id": f"quick-{i}"}) for i in range(finished)]
    lines += [_line({**SLOW, "id": f"slow-{i}"}) for i in range(10 - finished)]
    tasks = _write(folder / "tasks.jsonl", lines)
    out = folder / "results.jsonl"
    return _cli("solve", tasks, "--calls", "1e9", "--seconds", "60", "--out", out), tasks, out


def _wait_for_lines(process: subprocess.Popen, path: Path, count: int) -> None:
    deadline = time.monotonic() + 90
    while not (path.exists() and len(path.read_text().splitlines()) >= count):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"solve did not finish {count} tasks: {process.communicate()}")
        time.sleep(0.05)


def test_solve_stopped_by_any_signal_keeps_its_finished_results(tmp_path):
    # Issue 10: killed after 4 of 10 tasks, solve --out left no file. The three runs go
    # at once (one subprocess start-up's time).
    runs = {sig: _slow_solve(tmp_path / sig.name, 4) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)}
    before = {sig: _digest(tasks) for sig, (_, tasks, _) in runs.items()}
    for sig, (process, _, out) in runs.items():
        _wait_for_lines(process, out.with_name(out.name + ".partial"), 4)
        process.send_signal(sig)
    expected_ids = [f"quick-{i}" for i in range(4)]
    for sig, (process, tasks, out) in runs.items():
        _, stderr = process.communicate(timeout=60)
        assert _digest(tasks) == before[sig]
        if sig == signal.SIGKILL:
            # uncatchable: the finished lines stay in OUT.partial, and no rerun takes them
            partial = out.with_name(out.name + ".partial")
            assert [json.loads(x)["id"] for x in partial.read_text().splitlines()] == expected_ids
            kept = _digest(partial)
            again = _invoke(["solve", tasks, "--calls", "1e3", "--out", out])
            assert again.exit_code == 2 and "holds the finished results of an interrupted run" in again.stderr
            assert _digest(partial) == kept and not out.exists()
        else:
            assert process.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig], stderr
            assert "Traceback" not in stderr and "4 finished result(s) kept in" in stderr, stderr
            assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == expected_ids


# -- 8: workers die with their parent -------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    # Issue 10: generate's workers stayed alive after the main process was killed.
    tasks = _write(tmp_path / "tasks.jsonl", [_line({**SLOW, "id": f"s{i}"}) for i in range(4)])
    processes = {
        "generate": _cli("generate", "--count", "1000000", "--workers", "2", "--quiet", "--out", tmp_path / "phi"),
        "bench": _cli("bench", tasks, "--calls", "1e9", "--seconds", "60", "--workers", "2", "--no-progress",
                      "--out", tmp_path / "b"),
    }
    workers: dict[str, set[int]] = {}
    deadline = time.monotonic() + 90
    for name, process in processes.items():
        while len(workers.get(name, ())) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            workers[name] = _children(process.pid)
            time.sleep(0.1)
        assert len(workers[name]) >= 2, f"{name}: no workers started"
    for process in processes.values():
        process.kill()
        process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    every = set().union(*workers.values())
    while time.monotonic() < deadline and any(map(_alive, every)):
        time.sleep(0.1)
    left = {name: [w for w in pids if _alive(w)] for name, pids in workers.items()}
    for w in sum(left.values(), []):
        os.kill(w, signal.SIGKILL)
    assert not any(left.values()), f"workers outlived their parent: {left}"


# -- 3, 9: library bounds -------------------------------------------------------------------


def test_random_program_with_no_usable_primitive_raises_instead_of_hanging():
    from worldmodel.datasets import SamplingError, Type, deepcoder

    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("hung")))
    signal.alarm(10)
    try:
        with pytest.raises(SamplingError, match=r"no program of length 2 .*inputs \['int'\] in 1 tries"):
            deepcoder.random_program(random.Random(0), 2, input_types=(Type.INT,), max_tries=1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _program(*statements, inputs=("LIST",)):
    from worldmodel.datasets import Program, Statement, Type

    return Program(tuple(Type[t] for t in inputs), tuple(Statement(p, a) for p, a in statements))


@pytest.mark.parametrize(
    ("program", "inputs", "reason"),
    [
        (lambda: _program(("SUM", (0,)), ("SORT", (1,))), [[1, 2]], "argument 0 of SORT has type int, it needs [int]"),
        (lambda: _program(("SORT", (-1,))), [[1, 2]], "argument 0 of SORT is -1, not an earlier variable"),
        (lambda: _program(("SORT", (5,))), [[1, 2]], "argument 0 of SORT is 5, not an earlier variable"),
        (lambda: _program(("SORT", (0, 0))), [[1, 2]], "SORT takes 1 arguments"),
        (lambda: _program(("SORT", (True,))), [[1, 2]], "argument 0 of SORT is True"),
        (lambda: _program(("NOPE", (0,))), [[1, 2]], "unknown primitive 'NOPE'"),
    ],
    ids=["ill-typed", "negative-index", "index-too-large", "arity", "bool-index", "unknown-primitive"],
)
def test_hand_built_bad_programs_raise_execution_error(program, inputs, reason):
    from worldmodel.datasets import ExecutionError, deepcoder

    with pytest.raises(ExecutionError) as caught:
        deepcoder.run(program(), inputs)
    assert reason in str(caught.value)


def test_count_is_range_checked_against_the_bounds():
    from worldmodel.datasets import Bounds, Domain, ExecutionError, deepcoder

    small = Domain("small", deepcoder.primitives, bounds=Bounds(-3, 3))
    program = deepcoder.parse("a <- [int] | b <- COUNT (>0) a")
    assert small.run(program, [[1, 2, 3]]) == 3
    with pytest.raises(ExecutionError, match="value out of range"):
        small.run(program, [[1, 1, 1, 1, 1, 1]])


# -- 6: checkpoints are checked before anything is allocated ---------------------------------


@pytest.fixture()
def checkpoint(tmp_path):
    from worldmodel import ModelConfig, WorldModel

    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    model.attach_policy()
    model.save(tmp_path / "m")
    return tmp_path / "m"


def _edit(path: Path, change) -> None:
    meta = path.with_suffix(".json")
    record = json.loads(meta.read_text())
    change(record)
    meta.write_text(json.dumps(record))


def _without_configs_inside(path: Path) -> None:
    """Rewrite the tensors file as checkpoints before the configs went inside it (the
    shipped one) were, so that only the shapes can tell an edited config."""
    from safetensors.torch import load, save

    tensors = path.with_suffix(".safetensors")
    data = save(load(tensors.read_bytes()))
    tensors.write_bytes(data)
    _edit(path, lambda r: r.update(sha256=hashlib.sha256(data).hexdigest()))


CHECKPOINT_DAMAGE = [
    (lambda r: r["model"].update(dim=200_000), r"m\.json: bad model config: ModelConfig\.dim must be in \[1, 4096\], got 200000"),
    (lambda r: r["model"].update(dim=4096), r"m\.json: its config differs from the one saved inside .*m\.safetensors"),
    (lambda r: r["model"].update(lookahead=False), r"m\.json: its config differs from the one saved inside"),
    (lambda r: r["policy"].update(max_length=6), r"m\.json: its config differs from the one saved inside"),
    (lambda r: r["model"].update(dim=16.0), r"ModelConfig\.dim must be int, got float 16\.0"),
    (lambda r: r["model"].update(lookahead="yes"), r"ModelConfig\.lookahead must be bool"),
    (lambda r: r["policy"].update(flow_layers=2.5), r"PolicyConfig\.flow_layers must be int, got float 2\.5"),
    (lambda r: r["policy"].update(flow_layers=10**6), r"PolicyConfig\.flow_layers must be in \[1, 64\]"),
    (lambda r: r.update(sha256=["x"]), r"field 'sha256' must be 64 hex digits"),
    (lambda r: r.update(model=[1]), r"field 'model' must be an object"),
    (lambda r: r.update(version=True), r"checkpoint version True"),
]


@pytest.mark.parametrize(("damage", "match"), CHECKPOINT_DAMAGE)
def test_damaged_checkpoint_config_is_refused_before_allocation(checkpoint, damage, match):
    from worldmodel import CheckpointError, WorldModel

    _edit(checkpoint, damage)
    peak = _peak_kb()
    with pytest.raises(CheckpointError, match=match):
        WorldModel.load(checkpoint)
    # dim 4096 or hidden 4096 would take GBs: refused before anything is built
    assert _peak_kb() - peak < 300_000, "the load allocated hundreds of MB before refusing"


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda r: r["model"].update(dim=4096), r"m\.safetensors: tensors do not fit the config"),
        (lambda r: r["model"].update(dim=4096, token_dim=4096), r"m\.safetensors: tensors do not fit the config"),
        (lambda r: r["policy"].update(hidden_features=4096), r"tensors do not fit the policy config"),
        (lambda r: r["policy"].update(flow_layers=64, hidden_features=1024), r"tensors do not fit the policy config"),
    ],
)
def test_config_of_an_older_checkpoint_is_checked_against_the_shapes_first(checkpoint, damage, match):
    from worldmodel import CheckpointError, WorldModel

    _without_configs_inside(checkpoint)
    assert isinstance(WorldModel.load(checkpoint), WorldModel)  # still loads as it is
    _edit(checkpoint, damage)
    peak = _peak_kb()
    with pytest.raises(CheckpointError, match=match):
        WorldModel.load(checkpoint)
    # these configs would take GBs: refused from the shapes, before anything is built
    assert _peak_kb() - peak < 300_000, "the load allocated hundreds of MB before refusing"


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"format": "worldmodel-checkpoint", "version": ' + b"9" * 5000 + b"}", b"\xff\xfe", b" " * (2 << 20)],
    ids=["deep-nesting", "huge-int", "not-utf8", "too-large"],
)
def test_unreadable_checkpoint_json_is_a_clear_error(checkpoint, content):
    from worldmodel import CheckpointError, WorldModel

    checkpoint.with_suffix(".json").write_bytes(content)
    with pytest.raises(CheckpointError, match=r"m\.json: "):
        WorldModel.load(checkpoint)


@pytest.mark.parametrize("command", ["solve", "bench", "evaluate"])
def test_cli_reports_a_bad_checkpoint_with_exit_2(tmp_path, checkpoint, command):
    _edit(checkpoint, lambda r: r["model"].update(dim=200_000))
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    args = {
        "solve": ["solve", tasks, "--method", "policy", "--model", checkpoint],
        "bench": ["bench", tasks, "--methods", "policy", "--workers", "1", "--no-progress", "--model", checkpoint, "--out", tmp_path / "b"],
        "evaluate": ["evaluate", "--model", checkpoint, "--data", tmp_path],
    }[command]
    result = _invoke(args)
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "ModelConfig.dim must be in [1, 4096]" in result.stderr


def test_corrupt_training_state_is_exit_2(tmp_path):
    from worldmodel.datasets import deepcoder, write_tasks

    rng = random.Random(1)
    tasks = [deepcoder.random_task(rng, 2, examples=3, task_id=f"t{i}") for i in range(10)]
    data = tmp_path / "data"
    write_tasks(data / "train" / "a.jsonl", tasks[:8], deepcoder)
    write_tasks(data / "valid" / "a.jsonl", tasks[8:], deepcoder)
    args = ["train", "--data", data, "--out", tmp_path / "run", "--dim", "16", "--token-dim", "8", "--epochs", "2",
            "--batch-size", "4", "--quiet", "--valid-limit", "1", "--hard-negatives", "1", "--max-steps", "1",
            "--checkpoint-every", "1"]
    assert _invoke(args).exit_code == 0
    state = next((tmp_path / "run" / "checkpoints").glob("step-*")) / "state.json"
    record = json.loads(state.read_text())
    record["epoch"] = "one"
    state.write_text(json.dumps(record))
    result = _invoke(args[:-4])
    _no_traceback(result)
    assert result.exit_code == 2 and "state.json: field 'epoch' must be an integer >= 0" in result.stderr


# -- 10: bench never trusts results it cannot check -----------------------------------------


def test_bench_refuses_results_without_run_json(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    out = tmp_path / "b"
    out.mkdir()
    fake = {"method": "enumerate", "task": "double", "budget": 100, "length": None, "verified": True, "calls": 1,
            "seconds": 0.0, "program": "a <- [int]", "derived": False, "stopped_by_seconds": False}
    (out / "results.jsonl").write_text(json.dumps(fake) + "\n")
    (out / "bench.json").write_text('{"mine": true}\n')
    files = {p: _digest(p) for p in out.iterdir()}
    result = _invoke(["bench", tasks, "--calls", "1e2", "--workers", "1", "--no-progress", "--out", out])
    _no_traceback(result)
    assert result.exit_code == 2 and "holds results.jsonl but no run.json" in result.stderr, result.output
    assert {p: _digest(p) for p in out.iterdir()} == files


@pytest.mark.parametrize(
    "bad",
    [b'{"method": "enumerate", "task": "double", "budget": 100, "verified": "yes"}', b"\xff" * 10, b"[" * 100_000],
    ids=["wrong-types", "not-utf8", "deep-nesting"],
)
def test_bench_redoes_a_damaged_result_line(tmp_path, bad):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    out = tmp_path / "b"
    args = ["bench", tasks, "--calls", "1e2", "--workers", "1", "--no-progress", "--out", out]
    assert _invoke(args).exit_code == 0
    with open(out / "results.jsonl", "ab") as handle:
        handle.write(bad + b"\n")
    result = _invoke(args)
    _no_traceback(result)
    assert result.exit_code == 0 and "1 results reused" in result.output, result.output


@pytest.mark.parametrize("damage", [b"[" * 100_000, b"[1, 2]", b"\xff"], ids=["deep", "not-object", "not-utf8"])
def test_bench_reports_a_damaged_run_json(tmp_path, damage):
    tasks = _write(tmp_path / "tasks.jsonl", [_line(GOOD)])
    out = tmp_path / "b"
    args = ["bench", tasks, "--calls", "1e2", "--workers", "1", "--no-progress", "--out", out]
    assert _invoke(args).exit_code == 0
    (out / "run.json").write_bytes(damage)
    results = _digest(out / "results.jsonl")
    result = _invoke(args)
    _no_traceback(result)
    assert result.exit_code == 2 and "run.json" in result.stderr
    assert _digest(out / "results.jsonl") == results


def test_bench_never_writes_over_its_task_file(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    tasks = _write(out / "results.jsonl", [_line(GOOD)])
    before = _digest(tasks)
    result = _invoke(["bench", tasks, "--calls", "1e2", "--workers", "1", "--no-progress", "--out", out])
    _no_traceback(result)
    assert result.exit_code == 2 and "is one of the files bench writes" in result.stderr
    assert _digest(tasks) == before and sorted(p.name for p in out.iterdir()) == ["results.jsonl"]


# -- 12: identical runs write identical bytes -------------------------------------------------


def test_safetensors_bytes_are_identical_between_saves(tmp_path):
    from worldmodel import ModelConfig, WorldModel

    model = WorldModel(ModelConfig(dim=16, token_dim=8))
    digests = set()
    for i in range(8):
        model.save(tmp_path / f"m{i}")
        digests.add(_digest(tmp_path / f"m{i}.safetensors"))
    assert len(digests) == 1


# -- 13: the tests need nothing outside the repository ----------------------------------------


def test_no_test_reads_outside_the_repository():
    tests = Path(__file__).resolve().parent
    outside = "/".join(("..", "shared"))  # spelt in two parts, so this file does not name it
    offenders = [
        str(p.relative_to(tests))
        for p in tests.rglob("*.py")
        if p != Path(__file__).resolve() and (outside in (text := p.read_text()) or '"shared"' in text)
    ]
    assert offenders == []
