"""``--engine ray``: ``generate``, ``bench`` and ``learn`` give on a (local) Ray what they
give on local processes; without Ray the option fails with the install command."""

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from worldmodel.datasets import RAY_INSTALL

from worldmodel.cli import main


@pytest.fixture(scope="module")
def ray_session():
    import ray  # in the test extra: never skipped, a missing Ray fails here

    # The commands join this Ray (they start their own only when none is running).
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _bench_results(out: Path) -> tuple[list[dict], list[dict]]:
    """The (method, task, budget) records without their wall-clock seconds, and the table's rows."""
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("seconds")  # the time a run took: the one field that is not a function of its inputs
    records.sort(key=lambda r: (r["method"], r["task"], r["budget"]))
    return records, json.loads((out / "bench.json").read_text())["rows"]


def test_generate_and_bench_on_ray_match_local_processes(ray_session, tmp_path):
    generate = ["generate", "--count", "240", "--max-length", "3", "--shard-size", "50", "--workers", "2", "--quiet"]
    _invoke(*generate, "--out", tmp_path / "local")
    _invoke(*generate, "--engine", "ray", "--out", tmp_path / "ray")
    local = _files(tmp_path / "local")
    assert len(local) > 5 and _files(tmp_path / "ray") == local  # manifest and every shard, byte for byte

    tasks = tmp_path / "tasks.jsonl"
    _invoke("tasks", tmp_path / "local", "--split", "train", "--lengths", "2,3", "--per-length", "6", "--out", tasks)
    bench = ["bench", tasks, "--methods", "enumerate,mcmc", "--calls", "30,300", "--workers", "2", "--no-progress"]
    _invoke(*bench, "--out", tmp_path / "bench-local")
    _invoke(*bench, "--engine", "ray", "--out", tmp_path / "bench-ray")
    records, rows = _bench_results(tmp_path / "bench-local")
    assert len(records) == 2 * 12 * 2 and any(r["verified"] for r in records)
    assert _bench_results(tmp_path / "bench-ray") == (records, rows)
    assert json.loads((tmp_path / "bench-ray" / "bench.json").read_text())["machine"]["engine"] == "ray"


def test_learn_on_ray_writes_the_bytes_of_one_local_process(ray_session, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "inference"))
    from learn_pools import motif_pool
    from worldmodel.datasets import deepcoder, write_tasks

    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, motif_pool(), deepcoder)  # round 1 finds a skill, so round 2's workers need the new model
    learn = ["learn", tasks, "--rounds", "2", "--calls", "1500", "--capacity", "3", "--fantasies", "100",
             "--no-progress"]
    local = _invoke(*learn, "--out", tmp_path / "local")
    ray = _invoke(*learn, "--engine", "ray", "--workers", "2", "--out", tmp_path / "ray")
    files = _files(tmp_path / "local")
    # Every file: models, memories, libraries and state.json with the summaries; none has a clock field.
    assert len(files) == 1 + 2 * 4 and _files(tmp_path / "ray") == files
    assert ray.stdout == local.stdout and '"new_calling_skills": 0' not in local.stdout.splitlines()[-1]
    # The replay's epoch lines on stderr: equal but for the rates, the wall-clock fields.
    assert _without_rates(ray.stderr) == _without_rates(local.stderr) and "primitives=" in local.stderr


def _without_rates(log: str) -> str:
    return re.sub(r"\b(spec_)?tasks_per_second=[0-9.]+", r"\1tasks_per_second=-", log)


def test_ray_engine_without_ray_names_the_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    for command in (["generate", "--count", "10", "--out", tmp_path / "phi"], ["bench", __file__, "--out", tmp_path / "b"],
                    ["learn", __file__, "--out", tmp_path / "l"]):
        result = CliRunner().invoke(main, [*map(str, command), "--engine", "ray"])
        assert result.exit_code == 2, result.output
        assert RAY_INSTALL in result.output
    assert not (tmp_path / "phi").exists()  # it failed before any work
