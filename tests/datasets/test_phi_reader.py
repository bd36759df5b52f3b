"""RecordLines: the split's lines in iter_records order, read from the shards on demand."""

import json

import pytest
from worldmodel.datasets import (
    DatasetError,
    GenerateConfig,
    RecordLines,
    generate,
    iter_records,
    task_to_json,
)


@pytest.fixture(scope="module")
def phi(tmp_path_factory):
    out = tmp_path_factory.mktemp("phi")
    # Small shards, so that the records of a split span several files.
    generate(GenerateConfig(count=90, max_length=2, shard_size=20), out, progress=False)
    return out


def test_lines_are_the_records_in_order(phi):
    from worldmodel.datasets import deepcoder

    for split in ("train", "valid", "test"):
        lines = RecordLines(phi, split)
        records = [task_to_json(task, deepcoder) for task in iter_records(phi, split)]
        assert [json.loads(line) for line in lines] == [json.loads(r) for r in records]
        assert lines[-1] == lines[len(lines) - 1] and lines[1:3] == [lines[1], lines[2]]
        with pytest.raises(IndexError):
            lines[len(lines)]


def test_a_corrupt_shard_is_named(phi, tmp_path):
    import shutil

    copy = tmp_path / "phi"
    shutil.copytree(phi, copy)
    shard = sorted((copy / "train").glob("shard-*.jsonl"))[1]
    shard.write_bytes(shard.read_bytes()[:-5])
    with pytest.raises(DatasetError, match=f"{shard.name}: checksum mismatch"):
        RecordLines(copy, "train")
    with pytest.raises(DatasetError, match="no split 'nope'"):
        RecordLines(copy, "nope")
