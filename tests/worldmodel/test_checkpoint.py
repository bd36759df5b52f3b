"""save/load round trips bit for bit; corrupt or foreign checkpoints give CheckpointError."""

import json

import pytest
import torch
from click.testing import CliRunner
from helpers import random_tasks
from safetensors.torch import save_file

from worldmodel import CheckpointError, ModelConfig, WorldModel
from worldmodel.cli import main

TINY = ModelConfig(dim=16, token_dim=8)


@pytest.fixture()
def saved(tmp_path):
    torch.manual_seed(1)
    model = WorldModel(TINY).eval()
    path = tmp_path / "m"
    model.save(path)
    return model, path


def test_round_trip_is_bit_identical(saved):
    model, path = saved
    loaded = WorldModel.load(str(path) + ".safetensors").eval()
    task = random_tasks(1, 3)[0]
    programs = [task.program, *random_tasks(5, 4)]
    programs = [task.program] + [t.program for t in random_tasks(20, 5) if t.input_types == task.input_types]
    assert torch.equal(model.energy(task, programs), loaded.energy(task, programs))
    outs = [[e.output for e in task.examples]]
    assert torch.equal(model.similarity(task, outs, outs), loaded.similarity(task, outs, outs))
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_renamed_pair_still_loads(saved, tmp_path):
    model, path = saved
    for suffix in (".json", ".safetensors"):
        (tmp_path / ("deepcoder.v1" + suffix)).write_bytes(path.with_suffix(suffix).read_bytes())
    loaded = WorldModel.load(tmp_path / "deepcoder.v1.json")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


def _corrupt_json(path):
    path.with_suffix(".json").write_text("{not json")


def _flip_tensor_bytes(path):
    data = bytearray(path.with_suffix(".safetensors").read_bytes())
    data[-5] ^= 0xFF
    path.with_suffix(".safetensors").write_bytes(bytes(data))


def _foreign_json(path):
    path.with_suffix(".json").write_text(json.dumps({"format": "someone-else", "weights": "x.bin"}))


def _truncated_tensors(path):
    record = json.loads(path.with_suffix(".json").read_text())
    data = path.with_suffix(".safetensors").read_bytes()[:100]
    path.with_suffix(".safetensors").write_bytes(data)
    import hashlib

    record["sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(record))


def _wrong_shapes(path):
    record = json.loads(path.with_suffix(".json").read_text())
    record["model"]["dim"] = 24
    path.with_suffix(".json").write_text(json.dumps(record))


def _wrong_shapes_older_format(path):
    # a checkpoint without the configs inside its tensors file (as the shipped one):
    # only the shapes can tell that the JSON config was edited
    import hashlib

    from safetensors.torch import load, save

    data = save(load(path.with_suffix(".safetensors").read_bytes()))
    path.with_suffix(".safetensors").write_bytes(data)
    record = json.loads(path.with_suffix(".json").read_text())
    record["model"]["dim"] = 24
    record["sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(record))


def _foreign_safetensors(path):
    save_file({"weight": torch.zeros(3)}, str(path.with_suffix(".safetensors")))


def _missing_tensors(path):
    path.with_suffix(".safetensors").unlink()


def _bad_config_field(path):
    record = json.loads(path.with_suffix(".json").read_text())
    record["model"]["colour"] = "red"
    path.with_suffix(".json").write_text(json.dumps(record))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (_corrupt_json, r"m\.json: not JSON"),
        (_flip_tensor_bytes, r"m\.safetensors: checksum differs"),
        (_foreign_json, r"m\.json: not a worldmodel checkpoint"),
        (_truncated_tensors, r"m\.safetensors: unreadable safetensors"),
        (_wrong_shapes, r"m\.json: its config differs from the one saved inside .*m\.safetensors"),
        (_wrong_shapes_older_format, r"m\.safetensors: tensors do not fit"),
        (_foreign_safetensors, r"m\.safetensors: checksum differs"),
        (_missing_tensors, r"m\.safetensors: missing"),
        (_bad_config_field, r"m\.json: bad model config.*colour"),
    ],
)
def test_damaged_checkpoint(saved, damage, match):
    _, path = saved
    damage(path)
    with pytest.raises(CheckpointError, match=match):
        WorldModel.load(path)


def test_missing_checkpoint_names_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.json: no such checkpoint file"):
        WorldModel.load(tmp_path / "nothing")


def test_cli_reports_corrupt_checkpoint_without_traceback(saved, tmp_path):
    _, path = saved
    _corrupt_json(path)
    result = CliRunner().invoke(main, ["evaluate", "--model", str(path), "--data", str(tmp_path)])
    assert result.exit_code != 0
    assert "not JSON" in result.output and "Traceback" not in result.output


def test_default_checkpoint_missing_is_clear():
    from importlib import resources

    folder = resources.files("worldmodel") / "checkpoints"
    if (folder / "deepcoder.json").is_file():
        assert isinstance(WorldModel.default(), WorldModel)
    else:
        with pytest.raises(CheckpointError, match="worldmodel train"):
            WorldModel.default()
