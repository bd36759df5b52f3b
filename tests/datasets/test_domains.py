"""One domain-agnostic suite, run on every shipped domain and on the guide's example
(``examples/custom_domain.py``, docs/domains.md): round trips, 100 000 fuzzed runs,
invertible edits, reproducible generation (across workers and after ``kill -9``),
and splits disjoint by behaviour."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interrupted_generate import kill_mid_generate
from worldmodel.datasets import (
    DOMAINS,
    ExecutionError,
    GenerateConfig,
    Type,
    apply_edit,
    behaviour,
    check_inputs,
    generate,
    inverse,
    iter_records,
    probe_inputs,
    register_domain,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "custom_domain.py"


def _example_module():
    spec = importlib.util.spec_from_file_location("custom_domain", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


digits = register_domain(_example_module().make_digits())
NAMES = ["deepcoder", "arith", "ca", "regex", "digits"]


@pytest.fixture(params=NAMES)
def domain(request):
    return DOMAINS[request.param]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 8))
def test_parse_format_round_trip(name, seed, length):
    domain = DOMAINS[name]
    program = domain.random_program(random.Random(seed), length)
    assert domain.parse(domain.format(program)) == program
    assert domain.parse(domain.format(program, sep="\n")) == program


def _fuzzed_value(type_: Type, rng: random.Random, domain):
    """Mostly values of the domain's input distribution, some at and past its bounds."""
    b, roll = domain.bounds, rng.random()
    edge = [b.min_value, b.max_value, b.min_value - 1, b.max_value + 1, 0]
    if type_ is Type.INT:
        return rng.choice(edge) if roll < 0.1 else domain.random_value(type_, rng)
    if roll < 0.05:
        return [rng.choice(edge) for _ in range(rng.randint(0, b.max_list_length + 2))]
    return domain.random_value(type_, rng)


def test_100k_fuzzed_runs_raise_only_the_typed_error_and_stay_in_bounds(domain):
    rng = random.Random(7)
    b = domain.bounds
    programs = [domain.random_program(rng, rng.randint(0, 8)) for _ in range(1000)]
    outcomes = {"ok": 0, "error": 0}
    for i in range(100_000):
        program = programs[i % len(programs)]
        try:
            values = domain.trace(program, [_fuzzed_value(t, rng, domain) for t in program.input_types])
        except ExecutionError:
            outcomes["error"] += 1
            continue
        outcomes["ok"] += 1
        for value in values:
            items = value if isinstance(value, list) else [value]
            assert len(items) <= b.max_list_length
            assert all(type(v) is int and b.min_value <= v <= b.max_value for v in items), (program, value)
    assert outcomes["ok"] > 10_000 and outcomes["error"] > 1_000, outcomes  # both paths explored


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(0, 6))
def test_every_edit_has_an_exact_inverse(name, seed, length):
    domain = DOMAINS[name]
    rng = random.Random(seed)
    program = domain.random_program(rng, length)
    for _ in range(3):  # a short random walk, undoing each step
        edit, edited = rng.choice(list(domain.neighbours(program, max_length=8)))
        assert apply_edit(edited, inverse(edit), domain.primitives) == program
        assert inverse(inverse(edit)) == edit
        program = edited


def _config(name: str) -> GenerateConfig:
    return GenerateConfig(count=300, domain=name, max_length=3, shard_size=40, block_size=32, seed=5,
                          splits=(("train", 0.6), ("valid", 0.2), ("test", 0.2)))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", params=NAMES)
def reference(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    generate(_config(request.param), out, workers=1, progress=False)
    return request.param, out


def test_generate_gives_the_same_bytes_with_two_workers(reference, tmp_path):
    name, out = reference
    generate(_config(name), tmp_path, workers=2, progress=False)
    assert _files(tmp_path) == _files(out)


def test_generate_gives_the_same_bytes_after_kill_9(reference, tmp_path):
    name, out = reference
    config = _config(name)
    setup = (
        "import importlib.util\nfrom worldmodel.datasets import register_domain\n"
        f"spec = importlib.util.spec_from_file_location('custom_domain', {str(EXAMPLE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "register_domain(module.make_digits())\n"
    )
    kill_mid_generate(tmp_path, config, setup=setup)
    assert generate(config, tmp_path, workers=1, progress=False).resumed
    assert _files(tmp_path) == _files(out)


def test_splits_are_disjoint_by_behaviour(reference):
    name, out = reference
    domain = DOMAINS[name]
    digests = {}
    for split in ("train", "valid", "test"):
        tasks = list(iter_records(out, split))
        assert tasks, split
        digests[split] = {behaviour(domain, t.program, probe_inputs(domain, t.program.input_types, 16)).digest
                          for t in tasks}
        assert len(digests[split]) == len(tasks)
        for task in tasks:  # outputs reproduced, or (generative) observations explained
            assert domain.explains(task.program, task.examples)
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not digests[a] & digests[b], (a, b)


def test_primitives_marked_commutative_commute(domain):
    rng = random.Random(3)
    marked = [p for p in domain.primitives.values() if p.commutative]
    assert all(len(p.arg_types) == 2 and p.arg_types[0] is p.arg_types[1] for p in marked)
    for primitive in marked:
        for _ in range(200):
            x, y = (domain.random_value(primitive.arg_types[0], rng) for _ in range(2))
            assert primitive.function(x, y) == primitive.function(y, x), primitive.name


def test_probe_inputs_are_valid_inputs_of_the_domain(domain):
    # Behaviour digests run programs on the probes unchecked, so each must be valid.
    for signature in domain.signatures:
        for probe in probe_inputs(domain, signature, 16):
            assert check_inputs(signature, probe, domain.bounds) == list(probe), (signature, probe)
