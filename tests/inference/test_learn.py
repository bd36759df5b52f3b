"""Memoised Wake-Sleep rounds: every remembered program solves its task, replay moves
only the primitive head, a run killed with SIGKILL and rerun ends where an uninterrupted
one does, the searches on two worker processes write the files one process does, and
bad input is refused."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from learn_pools import motif_pool
from worldmodel.datasets import Engine, deepcoder, library_from_json, read_tasks, write_tasks
from worldmodel.inference import Budget, LearnConfig, Simulator, learn

from worldmodel import TaskMemories, WorldModel

TASKS = Path(__file__).parents[2] / "examples" / "tasks.jsonl"


def _pool(count: int) -> list:
    return read_tasks(TASKS, deepcoder).tasks[:count]


def test_every_remembered_program_solves_its_task_and_replay_moves_only_the_primitive_head(tmp_path):
    model = WorldModel.default()
    before = {n: p.clone() for n, p in model.named_parameters()}
    tasks = _pool(4)
    summaries = learn(tasks, model, deepcoder, config=LearnConfig(rounds=2, calls=2000, capacity=3, fantasies=100),
                      out=tmp_path, progress=False)
    assert [s["round"] for s in summaries] == [1, 2] and summaries[0]["solved"] >= 3
    assert summaries[1]["solved"] >= summaries[0]["solved"] and summaries[1]["new"] == 0
    memories = TaskMemories.load(tmp_path / "round-1" / "memory.json", deepcoder)
    for task in tasks:
        memory = memories[task.id]
        assert len(memory.entries) <= 3
        for entry in memory.entries:
            assert Simulator(task, deepcoder, Budget(calls=100)).solves(entry.program)
            assert entry.log_joint <= 0
    assert any(len(memories[t.id].entries) > 1 for t in tasks)  # the warm start found alternatives
    skills = library_from_json((tmp_path / "round-1" / "library.json").read_text(), deepcoder.primitives)
    assert len(skills) == summaries[1]["skills"]
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all(n.startswith("primitive_head.") for n in moved), moved


def _learn_command(tasks: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", "from worldmodel.cli import main; main()", "learn", str(tasks), "--rounds", "3", "--calls", "1500",
            "--capacity", "3", "--fantasies", "100", "--out", str(out), "--no-progress"]


def test_a_run_killed_mid_round_and_rerun_ends_as_an_uninterrupted_one(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, motif_pool(), deepcoder)  # a pool whose library is not empty
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    uninterrupted = subprocess.Popen(_learn_command(tasks, whole), env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
    victim = subprocess.Popen(_learn_command(tasks, killed), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (killed / "state.json").exists():  # round 1 is written; round 2 has begun
        assert victim.poll() is None and time.monotonic() < deadline, victim.stderr.read().decode()
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert json.loads((killed / "state.json").read_text())["round"] < 2
    rerun = subprocess.run(_learn_command(tasks, killed), env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stderr.read().decode()
    for name in ("memory.json", "library.json", "model.safetensors"):
        assert (killed / "round-2" / name).read_bytes() == (whole / "round-2" / name).read_bytes(), name
    summaries = json.loads((killed / "state.json").read_text())["summaries"]
    assert summaries == json.loads((whole / "state.json").read_text())["summaries"] and summaries[-1]["skills"] >= 1


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_searches_on_two_worker_processes_write_the_bytes_one_process_does(tmp_path):
    config = LearnConfig(rounds=2, calls=1500, capacity=3, fantasies=100)
    serial = learn(motif_pool(), WorldModel.default(), deepcoder, config=config, out=tmp_path / "one", progress=False)
    spread = learn(motif_pool(), WorldModel.default(), deepcoder, config=config, out=tmp_path / "two", progress=False,
                   engine=Engine(), workers=2)
    assert spread == serial and serial[1]["new_calling_skills"] >= 1  # round 2's workers had the round-1 skills
    one = _files(tmp_path / "one")
    # Every file: the models, memories, libraries and state.json (which holds the summaries).
    assert len(one) == 1 + 2 * 4 and _files(tmp_path / "two") == one


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="rounds"):
        LearnConfig(rounds=0)
    with pytest.raises(ValueError, match="method"):
        LearnConfig(method="nope")
    tasks = _pool(2)
    with pytest.raises(ValueError, match="workers"):
        learn(tasks, WorldModel.default(), deepcoder, config=LearnConfig(rounds=1, calls=10), out=tmp_path / "w",
              progress=False, engine=Engine(), workers=0)
    with pytest.raises(ValueError, match="register_domain"):  # a workers' process finds the domain by name
        learn(tasks, WorldModel.default(), replace(deepcoder), config=LearnConfig(rounds=1, calls=10),
              out=tmp_path / "d", progress=False, engine=Engine(), workers=2)
    with pytest.raises(ValueError, match="distinct"):
        learn([tasks[0], tasks[0]], WorldModel.default(), deepcoder, config=LearnConfig(rounds=1, calls=10),
              out=tmp_path / "a", progress=False)
    learn(tasks, WorldModel.default(), deepcoder, config=LearnConfig(rounds=1, calls=100), out=tmp_path / "b",
          progress=False)
    with pytest.raises(ValueError, match="another learn config"):
        learn(tasks, WorldModel.default(), deepcoder, config=LearnConfig(rounds=1, calls=200), out=tmp_path / "b",
              progress=False)
