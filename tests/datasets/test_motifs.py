"""Motif banks and motif programs: exact lengths, no dead code, recurring idioms, and generate --motifs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldmodel.datasets import (
    GenerateConfig,
    Program,
    Statement,
    Type,
    behaviour,
    deepcoder,
    generate,
    iter_records,
    motif_bank,
    motif_program,
    probe_inputs,
)

BANK = motif_bank(deepcoder, seed=1, count=6)


def test_bank_is_a_function_of_the_seed_and_its_motifs_are_list_to_list():
    assert motif_bank(deepcoder, seed=1, count=6) == BANK
    assert motif_bank(deepcoder, seed=2, count=6) != BANK
    for motif in BANK:
        assert motif.input_types == (Type.LIST,) and len(motif.statements) in (2, 3)
        assert deepcoder.primitives[motif.statements[-1].primitive].return_type is Type.LIST


def test_motifs_behave_unlike_each_other_and_unlike_any_one_statement():
    probes = probe_inputs(deepcoder, (Type.LIST,), 16)
    digests = [behaviour(deepcoder, m, probes).digest for m in BANK]
    assert len(set(digests)) == len(digests)
    singles = {behaviour(deepcoder, Program((Type.LIST,), (Statement(name, (0,)),)), probes).digest
               for name, p in deepcoder.primitives.items() if p.arg_types == (Type.LIST,)}
    singles.add(behaviour(deepcoder, Program((Type.LIST,), ()), probes).digest)
    assert not singles & set(digests)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), length=st.integers(1, 8))
def test_motif_programs_have_the_length_and_no_dead_code(seed, length):
    program = motif_program(deepcoder, random.Random(seed), length, BANK)
    assert len(program.statements) == length
    n = len(program.input_types)
    used = {a for s in program.statements for a in s.args}
    assert all(v in used for v in range(n, n + length - 1))  # every result but the output is read
    assert program == motif_program(deepcoder, random.Random(seed), length, BANK)


def _contains(program, motif) -> bool:
    names = [s.primitive for s in program.statements]
    want = [s.primitive for s in motif.statements]
    return any(names[i:i + len(want)] == want for i in range(len(names)))


def test_motif_programs_are_mostly_made_of_motifs_and_rate_zero_uses_none():
    rng = random.Random(0)
    programs = [motif_program(deepcoder, rng, 6, BANK) for _ in range(200)]
    assert sum(any(_contains(p, m) for m in BANK) for p in programs) > 180
    plain = [motif_program(deepcoder, rng, 6, BANK, motif_rate=0.0) for _ in range(200)]
    assert sum(any(_contains(p, m) for m in BANK) for p in plain) < 20


@pytest.mark.parametrize("call, match", [
    (lambda: motif_bank(deepcoder, seed=0, count=0), "count"),
    (lambda: motif_bank(deepcoder, seed=0, count=2, sizes=(1, 2)), "sizes"),
    (lambda: motif_program(deepcoder, random.Random(0), 0, BANK), "length"),
    (lambda: motif_program(deepcoder, random.Random(0), 3, ()), "empty"),
    (lambda: motif_program(deepcoder, random.Random(0), 3, BANK, motif_rate=1.5), "motif_rate"),
    (lambda: GenerateConfig(count=10, motifs=-1), "motifs"),
])
def test_bad_arguments_name_the_field(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_generate_with_motifs_records_them_and_keeps_default_manifests(tmp_path):
    config = GenerateConfig(count=40, min_length=4, max_length=6, motifs=4, seed=3, splits=(("train", 1.0),))
    result = generate(config, tmp_path / "pool", progress=False)
    assert result.manifest["parameters"]["motifs"] == 4
    bank = motif_bank(deepcoder, seed=3, count=4)
    tasks = list(iter_records(tmp_path / "pool", "train"))
    assert len(tasks) == 40 and all(4 <= len(t.program.statements) <= 6 for t in tasks)
    assert sum(any(_contains(t.program, m) for m in bank) for t in tasks) >= 30
    assert "motifs" not in GenerateConfig(count=40).parameters()


def test_tasks_not_in_another_dataset_share_no_behaviour_with_it(tmp_path):
    from click.testing import CliRunner
    from worldmodel.datasets import dataset_ids, read_tasks

    from worldmodel.cli import main

    generate(GenerateConfig(count=60, max_length=4, seed=0, splits=(("train", 1.0),)), tmp_path / "phi", progress=False)
    generate(GenerateConfig(count=60, min_length=4, max_length=4, motifs=4, seed=3, splits=(("test", 1.0),)),
             tmp_path / "pool", progress=False)
    phi = dataset_ids(tmp_path / "phi", probes=16)
    runner = CliRunner()
    out = tmp_path / "pool.jsonl"
    result = runner.invoke(main, ["tasks", str(tmp_path / "pool"), "--lengths", "4", "--per-length", "5",
                                  "--not-in", str(tmp_path / "phi"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ids = {task.id for task in read_tasks(out, deepcoder).tasks}
    assert len(ids) == 5 and not ids & phi
    itself = runner.invoke(main, ["tasks", str(tmp_path / "pool"), "--lengths", "4", "--per-length", "1",
                                  "--not-in", str(tmp_path / "pool"), "--out", str(tmp_path / "none.jsonl")])
    assert itself.exit_code != 0 and "too few" in itself.output  # every record behaves as one of its own
    with pytest.raises(Exception, match="probes"):
        dataset_ids(tmp_path / "phi", probes=8)
