"""``worldmodel train`` under ``torchrun --nproc-per-node 2`` (gloo, CPU) takes the steps
one process takes with the same global batch, and resumes with any number of processes."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from worldmodel.datasets import GenerateConfig, generate

from worldmodel import ConfigError, DataParallel, TrainConfig
from worldmodel._training import _check_parallel
from worldmodel._training_checkpoint import latest_checkpoint
from worldmodel.cli import main

# The smallest model and data that still run every default loss term. The 47 training
# records make 5 micro-batches of 10: with --accumulate 2, steps (0, 1), (2, 3) and (4),
# so in the third the second process has none, and 4 steps cross an epoch's end
# (held-out evaluation, its checkpoint).
TRAIN = ["--dim", "16", "--token-dim", "8", "--batch-size", "10", "--accumulate", "2", "--hard-negatives", "1",
         "--batch-negatives", "1", "--chain-length", "2", "--valid-limit", "2", "--checkpoint-every", "1",
         "--epochs", "3", "--seed", "5", "--quiet"]


@pytest.fixture(scope="module")
def phi(tmp_path_factory):
    out = tmp_path_factory.mktemp("phi")
    result = generate(GenerateConfig(count=60, max_length=2, splits=(("train", 0.8), ("valid", 0.2))), out, progress=False)
    assert result.manifest["counts"]["train"]["total"] == 47
    return out


def _train_here(phi, out, steps):
    result = CliRunner().invoke(main, ["train", "--data", str(phi), "--out", str(out), "--max-steps", str(steps), *TRAIN])
    assert result.exit_code == 0, result.output
    return load_file(out / "model.safetensors")


def _torchrun_command(phi, out, steps):
    worldmodel = os.path.join(os.path.dirname(sys.executable), "worldmodel")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "--no-python",
            worldmodel, "train", "--data", str(phi), "--out", str(out), "--max-steps", str(steps), *TRAIN]


# One torch thread each: two processes on the two cores of the CI machine.
_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _train_torchrun(phi, out, steps):
    run = subprocess.run(_torchrun_command(phi, out, steps), env=_ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return load_file(out / "model.safetensors")


def _assert_close(got, want):
    assert got.keys() == want.keys()
    for name in want:
        # The sum over two processes is taken in another order than one process
        # accumulates it: equal up to float rounding, far below one step's change.
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6, msg=name)


def test_two_processes_match_one_and_resume_with_any_number(phi, tmp_path):
    two_steps = _train_here(phi, tmp_path / "one-2", 2)
    four_steps = _train_here(phi, tmp_path / "one-4", 4)
    assert any(not torch.equal(two_steps[n], four_steps[n]) for n in two_steps)  # the steps move the weights

    stopped = _train_torchrun(phi, tmp_path / "two", 2)
    _assert_close(stopped, two_steps)
    shutil.copytree(tmp_path / "two", tmp_path / "two-then-one")

    _assert_close(_train_torchrun(phi, tmp_path / "two", 4), four_steps)  # resumed by two processes
    _assert_close(_train_here(phi, tmp_path / "two-then-one", 4), four_steps)  # resumed by one


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (torchrun starts each rank in a session of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # a process that ended while being read
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    return tree


def test_two_processes_killed_mid_run_resume_where_they_stopped(phi, tmp_path):
    four_steps = _train_here(phi, tmp_path / "one-4", 4)
    out = tmp_path / "two"
    # kill -9 the launcher and both ranks once the first step's checkpoint is on disk,
    # as a preempted job dies: no clean shutdown, no last write.
    run = subprocess.Popen(_torchrun_command(phi, out, 4), env=_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while latest_checkpoint(out / "checkpoints") is None:
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.005)
    tree = _process_tree(run.pid)
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    run.wait()
    assert len(tree) >= 3  # the launcher and its two ranks
    reached = int(latest_checkpoint(out / "checkpoints").name.split("-")[1])
    assert reached < 4 and not (out / "model.safetensors").exists()  # killed before the end
    _assert_close(_train_torchrun(phi, out, 4), four_steps)  # resumed by two processes, from the last checkpoint


def test_rerunning_a_finished_run_takes_no_more_steps(phi, tmp_path):
    two_steps = _train_here(phi, tmp_path / "run", 2)
    again = _train_here(phi, tmp_path / "run", 2)
    assert all(torch.equal(again[name], two_steps[name]) for name in two_steps)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (TrainConfig(accumulate=1), "accumulate=1 is less than the 2 processes"),
        (TrainConfig(accumulate=2, reuse_batches=True, only="primitives"), "leave reuse_batches off under torchrun"),
        (TrainConfig(accumulate=2, time_limit=60.0, lr_by_time=True), "leave lr_by_time off under torchrun"),
    ],
)
def test_options_one_process_alone_can_honour_are_refused(config, match):
    with pytest.raises(ConfigError, match=match):
        _check_parallel(config, DataParallel(rank=0, world=2))


def test_micro_batches_are_dealt_round_robin():
    step = range(6, 11)
    dealt = [DataParallel(rank=r, world=2).own(step) for r in range(2)]
    assert dealt == [[6, 8, 10], [7, 9]]
    assert DataParallel().own(step) == list(step)
    with pytest.raises(ConfigError, match="rank must be in"):
        DataParallel(rank=2, world=2)
