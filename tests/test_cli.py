"""The solve and bench commands: per-line errors, exit codes, outputs."""

import json

from click.testing import CliRunner

from worldmodel.cli import main

GOOD = [
    '{"id": "double", "examples": [{"input": [[1, 2]], "output": [2, 4]}, {"input": [[5]], "output": [10]}], "length": 1}',
    '{"id": "sum", "examples": [{"input": [[1, 2]], "output": 3}, {"input": [[5, -1]], "output": 4}], "length": 1}',
]
BAD = [
    "{not json",  # bad JSON
    '{"id": "t", "examples": "none"}',  # wrong type
    '{"id": "t"}',  # missing field
    '{"id": "t", "examples": [{"input": [['
    + ", ".join(["1"] * 50)
    + ']], "output": 1}]}',  # huge list
    '{"id": "t", "examples": [{"input": [[1, 2]], "output": 100000}]}',  # value out of range
    '{"id": "t", "examples": [{"input": [["a"]], "output": 1}]}',  # not ints
]


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_solve_reports_each_bad_line_and_solves_the_good_ones(tmp_path):
    # good, then every kind of bad line, then good again: lines 1, 2..7, 8
    tasks = _write(tmp_path / "tasks.jsonl", [GOOD[0], *BAD, GOOD[1]])
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(
        main, ["solve", tasks, "--method", "enumerate", "--calls", "1e4", "--seconds", "30", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith(tasks)]
    assert [int(e.split(":")[1]) for e in errors] == [2, 3, 4, 5, 6, 7]
    assert "bad JSON" in errors[0] and "examples" in errors[1] and "examples" in errors[2]
    assert "too long" in errors[3] and "out of range" in errors[4]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["double", "sum"]
    assert all(r["verified"] and r["method"] == "enumerate" and r["calls"] > 0 for r in records)
    assert records[0]["program"] == "a <- [int] | b <- MAP (*2) a"
    assert "solved 2/2" in result.stdout


def test_solve_all_good_exits_zero(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", GOOD)
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(main, ["solve", tasks, "--calls", "1000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "solved 2/2" in result.stdout
    # The default method is enumeration guided by the shipped model.
    assert {json.loads(line)["method"] for line in out.read_text().splitlines()} == {"guided"}


def test_solve_format_jsonl_prints_the_records_on_stdout(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [GOOD[0], BAD[0], GOOD[1]])
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(main, ["solve", tasks, "--method", "enumerate", "--calls", "1e4", "--format", "jsonl",
                                       "--out", str(out)])
    assert result.exit_code == 1, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert printed == [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in printed] == ["double", "sum"] and all(r["verified"] for r in printed)
    assert "solved 2/2" in result.stderr and ":2: bad JSON" in result.stderr


def test_solve_unsolved_within_budget(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [GOOD[0]])
    result = CliRunner().invoke(main, ["solve", tasks, "--calls", "1"])
    assert result.exit_code == 0 and "solved 0/1" in result.stdout


def test_solve_usage_errors(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", GOOD)
    runner = CliRunner()
    unknown = runner.invoke(main, ["solve", tasks, "--method", "oracle"])
    assert (
        unknown.exit_code == 2
        and "is not one of" in unknown.output and "'enumerate'" in unknown.output
        and "enumerate" in unknown.output
    )
    assert runner.invoke(main, ["solve", tasks, "--calls", "lots"]).exit_code == 2
    assert runner.invoke(main, ["solve", tasks, "--calls", "1.5"]).exit_code == 2
    assert runner.invoke(main, ["solve", str(tmp_path / "missing.jsonl")]).exit_code == 2


def test_bench_command_writes_json_and_png(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [GOOD[0], BAD[0], GOOD[1]])
    out = tmp_path / "bench"
    args = [
        "bench",
        tasks,
        "--calls",
        "1e1,1e2",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-progress",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # one malformed line
    assert f"{tasks}:2: bad JSON" in result.stderr
    table = json.loads((out / "bench.json").read_text())
    assert table["command"] == [
        "worldmodel",
        "bench",
        tasks,
        "--methods",
        "enumerate",
        "--calls",
        "10,100",
    ] + ["--workers", "1", "--model", "shipped", "--out", str(out), "--seed", "0"]
    assert [(r["budget"], r["total"]) for r in table["rows"]] == [(10, 2), (100, 2)]
    assert table["rows"][-1]["solved"] == 2 and table["malformed_lines"] == 1
    assert (out / "bench.png").stat().st_size > 1000
    assert "enumerate" in result.stdout and "100.0%" in result.stdout
    rerun = CliRunner().invoke(main, args)
    assert "0 runs now, 4 results reused" in rerun.stdout


def test_bench_usage_errors(tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", GOOD)
    runner = CliRunner()
    assert runner.invoke(main, ["bench", tasks, "--methods", "enumerate,oracle"]).exit_code == 2
    assert runner.invoke(main, ["bench", tasks, "--calls", "1e2,0"]).exit_code == 2
    assert runner.invoke(main, ["bench", tasks, "--workers", "0"]).exit_code == 2
    out = str(tmp_path / "b")
    assert (
        runner.invoke(
            main, ["bench", tasks, "--calls", "10", "--workers", "1", "--out", out]
        ).exit_code
        == 0
    )
    changed = runner.invoke(
        main, ["bench", tasks, "--calls", "10", "--seconds", "3", "--workers", "1", "--out", out]
    )
    assert changed.exit_code == 2 and "other settings" in changed.output


def test_solve_model_is_ignored_by_enumerate_and_passed_to_other_methods(tmp_path, monkeypatch):
    from worldmodel.inference import METHODS, SolveResult

    tasks = _write(tmp_path / "tasks.jsonl", GOOD)
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"")
    result = CliRunner().invoke(main, ["solve", tasks, "--method", "enumerate", "--model", str(model), "--calls", "1000"])
    assert result.exit_code == 0 and "--model ignored" in result.stderr
    received = []

    def learned(task, *, model, budget, domain, seed):
        received.append((model, budget.calls, seed))
        return SolveResult(task.id, "learned", None, False, 0, 0.0)

    monkeypatch.setitem(METHODS, "learned", learned)
    result = CliRunner().invoke(main, ["solve", tasks, "--method", "learned", "--calls", "50", "--seed", "3"])
    from worldmodel import WorldModel

    # Without --model the learned methods get the shipped model...
    assert result.exit_code == 0 and [(type(m), c, s) for m, c, s in received] == [(WorldModel, 50, 3), (WorldModel, 50, 4)]
    received.clear()
    # ...and with --model heuristic, no model (the hand-written scorer).
    result = CliRunner().invoke(main, ["solve", tasks, "--method", "learned", "--calls", "50", "--model", "heuristic"])
    assert result.exit_code == 0 and received == [(None, 50, 0), (None, 50, 1)]
