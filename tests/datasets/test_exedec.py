"""Every task of the third-party ExeDec set is expressible in this DSL: its reference
program, translated, reproduces every example exactly (pins the DSL's edge cases)."""

import json
from pathlib import Path

import pytest
from worldmodel.datasets import ExecutionError, Type, deepcoder, from_exedec

# Shipped in the repository (Apache-2.0, attribution in examples/README.md and NOTICE).
BENCHMARK = Path(__file__).resolve().parents[2] / "examples" / "exedec-none.jsonl"


def _records():
    return [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").splitlines()]


def test_every_reference_program_reproduces_its_examples():
    records = _records()
    assert len(records) == 1000
    for record in records:
        types = [Type.of(v) for v in record["examples"][0]["input"]]
        program = from_exedec(record["reference"], types)
        assert len(program) == record["length"], record["id"]
        assert deepcoder.parse(deepcoder.format(program)) == program
        for example in record["examples"]:
            assert deepcoder.run(program, example["input"]) == example["output"], record["id"]


@pytest.mark.parametrize(
    "text, inputs",
    [
        ("x0 = INPUT | x1 = Head x0", [[]]),
        ("x0 = INPUT | x1 = INPUT | x2 = Access x1 x0", [[1, 2], 2]),
        ("x0 = INPUT | x1 = INPUT | x2 = Access x1 x0", [[1, 2], -1]),
        ("x0 = INPUT | x1 = Minimum x0", [[]]),
    ],
)
def test_invalid_operations_raise_the_typed_error(text, inputs):
    program = from_exedec(text, [Type.of(v) for v in inputs])
    with pytest.raises(ExecutionError):
        deepcoder.run(program, inputs)
