"""The plot command group: PNGs of the latent space, and clear errors on bad input."""

import json

import pytest
from click.testing import CliRunner
from helpers_cli import tiny_model_files

from worldmodel.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _run(args):
    return CliRunner().invoke(main, args)


def test_the_latent_map_is_a_png_of_the_shipped_latents(tmp_path):
    out = tmp_path / "map.png"
    result = _run(["plot", "latent", "--programs", "60", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)
    record = json.loads(result.stdout)
    assert record["programs"] == 60 and 0 < record["explained"][1] <= record["explained"][0] < 1


def test_the_energy_slice_is_a_png_through_a_shipped_tasks_solution(tmp_path):
    out = tmp_path / "energy.png"
    result = _run(["plot", "energy", "examples/tasks.jsonl", "--index", "0", "--draws", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)
    assert json.loads(result.stdout)["task"] == "f70e9cb22231bcda"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--index", "100000"], "--index 100000: examples/tasks.jsonl has"),
        (["--program", "a <- [int] | b <- int | c <- SUM a"], "does not reproduce the examples"),
        (["--program", "a <- [int] | b <- FROB a"], "--program: line 2: unknown primitive"),
    ],
)
def test_bad_energy_arguments_name_what_is_wrong(tmp_path, extra, message):
    result = _run(["plot", "energy", "examples/tasks.jsonl", "--out", str(tmp_path / "x.png"), *extra])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x.png").exists()


def test_a_model_without_a_latent_space_is_refused(tmp_path):
    files = tiny_model_files(tmp_path)
    result = _run(["plot", "latent", "--model", files["model"], "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "has no latent space" in result.output
