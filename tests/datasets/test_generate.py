"""Φ generation: determinism across workers, resume after kill -9, dedup, splits, errors, CLI."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from interrupted_generate import kill_mid_generate
from worldmodel.datasets import (
    DatasetError,
    DigestSet,
    ExecutionError,
    GenerateConfig,
    behaviour,
    deepcoder,
    generate,
    iter_records,
    probe_inputs,
    probe_outputs,
    read_manifest,
    read_tasks,
)

from worldmodel.cli import main

# Small but not trivial: several shards per split, every length, some exhaustion of length 1.
CONFIG = GenerateConfig(count=600, max_length=3, shard_size=64, block_size=64, seed=3,
                        splits=(("train", 0.6), ("valid", 0.2), ("test", 0.2)))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    generate(CONFIG, out, workers=1, progress=False)
    return out


def test_same_bytes_with_one_and_two_workers(reference, tmp_path):
    result = generate(CONFIG, tmp_path, workers=2, progress=False)
    assert result.records == CONFIG.count
    files = _files(tmp_path)
    assert files == _files(reference)
    assert "manifest.json" in files and len([f for f in files if f.endswith(".jsonl")]) > 5
    assert not (tmp_path / ".generate").exists()


def test_other_seed_gives_other_records(reference, tmp_path):
    generate(GenerateConfig(**{**CONFIG.__dict__, "seed": 4}), tmp_path, progress=False)
    assert _files(tmp_path)["train/shard-00001.jsonl"] != _files(reference)["train/shard-00001.jsonl"]


def test_manifest_counts_and_checksums(reference):
    manifest = read_manifest(reference)
    assert manifest["parameters"] == CONFIG.parameters()
    total = 0
    for shard in manifest["shards"]:
        data = (reference / shard["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
        assert data.count(b"\n") == shard["records"]
        total += shard["records"]
    assert total == manifest["records"] == CONFIG.count
    for split, counts in manifest["counts"].items():
        records = list(iter_records(reference, split))
        assert len(records) == counts["total"]
        for length, n in counts["per_length"].items():
            assert sum(t.extra["length"] == int(length) for t in records) == n


def test_records_are_tasks_with_good_examples(reference):
    tasks = read_tasks(reference / "train" / "shard-00000.jsonl", deepcoder)
    assert not tasks.errors and len(tasks.tasks) == CONFIG.shard_size
    for task in tasks.tasks:
        assert len(task.program) == task.extra["length"]
        assert len(task.examples) == CONFIG.examples
        assert len({json.dumps(e.output) for e in task.examples}) > 1  # not degenerate
        for e in task.examples:
            assert deepcoder.run(task.program, e.inputs) == e.output


def test_splits_share_no_program_and_no_behaviour(reference):
    programs, digests = {}, {}
    for split in ("train", "valid", "test"):
        tasks = list(iter_records(reference, split))
        assert tasks, split
        programs[split] = {deepcoder.format(t.program) for t in tasks}
        digests[split] = {
            behaviour(deepcoder, t.program, probe_inputs(deepcoder, t.program.input_types, CONFIG.probes)).digest
            for t in tasks
        }
        assert len(digests[split]) == len(tasks)  # deduplicated within the split too
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not programs[a] & programs[b]
        assert not digests[a] & digests[b]


def test_lengths_go_shortest_first_and_length_one_is_exhausted(reference):
    # Shortest first is what makes "first seen" mean "shortest" in deduplication.
    for split in ("train", "valid", "test"):
        lengths = [t.extra["length"] for t in iter_records(reference, split)]
        assert lengths == sorted(lengths) and set(lengths) == {1, 2, 3}
    manifest = read_manifest(reference)
    assert manifest["stats"]["exhausted"] == {"1": 1, "2": 0, "3": 0}
    assert manifest["per_length"]["1"] < manifest["per_length"]["2"]


def _kill_mid_run(out: Path) -> None:
    kill_mid_generate(out, CONFIG)


def test_rerun_after_kill_gives_same_bytes(reference, tmp_path):
    _kill_mid_run(tmp_path)
    result = generate(CONFIG, tmp_path, workers=1, progress=False)
    assert result.resumed
    assert _files(tmp_path) == _files(reference)


def test_rerun_truncates_writes_after_the_checkpoint_and_redoes_corrupt_shards(reference, tmp_path):
    _kill_mid_run(tmp_path)
    partials = list(tmp_path.rglob(".shard-*.partial"))
    assert partials
    for path in partials:  # bytes written after the last checkpoint, as a kill mid-block leaves
        with open(path, "ab") as handle:
            handle.write(b'{"id": "half a rec')
    assert generate(CONFIG, tmp_path, progress=False).resumed
    assert _files(tmp_path) == _files(reference)

    other = tmp_path / "again"
    _kill_mid_run(other)
    (other / "train" / "shard-00000.jsonl").write_bytes(b"corrupt\n")
    assert not generate(CONFIG, other, progress=False).resumed  # a bad finished shard: start over
    assert _files(other) == _files(reference)


def test_rerun_of_a_finished_dataset_only_verifies(reference):
    result = generate(CONFIG, reference, progress=False)
    assert result.already_complete and result.records == CONFIG.count
    with pytest.raises(DatasetError, match="no split 'dev'"):
        list(iter_records(reference, "dev"))


def test_corrupt_shard_is_reported_and_redone(reference, tmp_path):
    for name, data in _files(reference).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    shard = tmp_path / "test" / "shard-00000.jsonl"
    shard.write_bytes(shard.read_bytes().replace(b'"output": ', b'"output":', 1))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        list(iter_records(tmp_path, "test"))
    result = generate(CONFIG, tmp_path, progress=False)
    assert not result.already_complete
    assert _files(tmp_path) == _files(reference)


def test_other_parameters_into_same_directory_fail(reference):
    before = _files(reference)
    with pytest.raises(DatasetError, match="other parameters.*count"):
        generate(GenerateConfig(**{**CONFIG.__dict__, "count": 601}), reference, progress=False)
    assert _files(reference) == before


def test_other_parameters_into_unfinished_directory_fail(tmp_path):
    _kill_mid_run(tmp_path)
    with pytest.raises(DatasetError, match="other parameters.*seed"):
        generate(GenerateConfig(**{**CONFIG.__dict__, "seed": 9}), tmp_path, progress=False)


def test_errors_for_missing_foreign_or_wrong_directories(tmp_path):
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        read_manifest(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        generate(CONFIG, tmp_path / "file", progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty and holds no worldmodel dataset"):
        generate(CONFIG, tmp_path, progress=False)
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        list(iter_records(tmp_path, "train"))
    (tmp_path / "manifest.json").write_text('{"hello": 1}')
    with pytest.raises(DatasetError, match="not a worldmodel dataset manifest"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"count": 0}, "count must be >= 1"),
        ({"max_length": 0}, "max_length 0 < min_length 1"),
        ({"splits": (("train", 0.5), ("test", 0.4))}, "sum to 1"),
        ({"splits": (("train", 0.5), ("train", 0.5))}, "distinct"),
        ({"domain": "lambda"}, "domain 'lambda' is unknown"),
        ({"min_yield": 0.0}, "min_yield"),
    ],
)
def test_bad_config(changes, match):
    with pytest.raises(ValueError, match=match):
        GenerateConfig(**{**CONFIG.__dict__, **changes})


def test_probe_outputs_match_the_interpreter():
    rng = random.Random(0)
    for _ in range(400):
        program = deepcoder.random_program(rng, rng.randint(1, 6))
        probes = probe_inputs(deepcoder, program.input_types, 16)
        expected = []
        for x in probes:
            try:
                expected.append(deepcoder.run(program, x))
            except ExecutionError:
                expected.append(None)
        assert probe_outputs(deepcoder, program, probes) == expected


def test_digest_set_matches_a_python_set():
    rng = np.random.default_rng(0)
    values = [int(v) for v in rng.integers(0, 2**63, 3000, dtype=np.int64)] + [2**64 - 1, 0]
    s, reference = DigestSet(batch=100), set()
    for v in values[:1500]:
        s.add(v)
        reference.add(v)
    assert len(s) == len(reference)
    assert all((v in s) == (v in reference) for v in values)
    restored = DigestSet(np.asarray(values[:1500], dtype=np.uint64))
    assert all((v in restored) == (v in reference) for v in values)


def test_cli_generate_and_tasks(tmp_path):
    runner = CliRunner()
    out = tmp_path / "phi"
    args = ["generate", "--count", "300", "--max-length", "3", "--seed", "1", "--splits", "train=0.5,test=0.5",
            "--out", str(out), "--quiet"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "300 records" in result.output
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "already complete" in again.output
    other = runner.invoke(main, [*args[:-3], "--examples", "3", "--out", str(out)])
    assert other.exit_code != 0 and "other parameters" in other.output
    task_file = tmp_path / "t.jsonl"
    result = runner.invoke(main, ["tasks", str(out), "--split", "test", "--lengths", "2,3", "--per-length", "10",
                                  "--out", str(task_file)])
    assert result.exit_code == 0, result.output
    tasks = read_tasks(task_file, deepcoder)
    assert not tasks.errors and [t.extra["length"] for t in tasks.tasks] == [2] * 10 + [3] * 10
    train = {deepcoder.format(t.program) for t in iter_records(out, "train")}
    assert not train & {deepcoder.format(t.program) for t in tasks.tasks}
    too_many = runner.invoke(main, ["tasks", str(out), "--lengths", "3", "--per-length", "100000", "--out",
                                    str(tmp_path / "x.jsonl")])
    assert too_many.exit_code != 0 and "too few records" in too_many.output
    assert not (tmp_path / "x.jsonl").exists()
    bad = runner.invoke(main, ["generate", "--count", "10", "--splits", "train=2", "--out", str(tmp_path / "b")])
    assert bad.exit_code != 0 and "sum to 1" in bad.output
