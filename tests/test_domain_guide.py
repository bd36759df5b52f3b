"""docs/domains.md: its example domain is the file the suite runs, and the guide's
pipeline (generate, train a tiny model, solve) works on it from the command line."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from worldmodel.datasets import DOMAINS, Domain, DomainError, register_domain

from worldmodel.cli import main

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "custom_domain.py"


def _make_digits():
    spec = importlib.util.spec_from_file_location("custom_domain", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_digits


def test_the_guide_shows_the_example_file_whole_and_it_is_under_100_lines():
    code = EXAMPLE.read_text()
    assert code in (ROOT / "docs" / "domains.md").read_text()
    assert len(code.splitlines()) < 100


def test_generate_train_and_solve_the_example_domain(tmp_path):
    register_domain(_make_digits()())
    runner = CliRunner()
    phi, run, tasks = tmp_path / "phi", tmp_path / "run", tmp_path / "digits.jsonl"
    steps = [
        ["generate", "--domain", "digits", "--count", "300", "--max-length", "3", "--seed", "0",
         "--splits", "train=0.6,valid=0.2,test=0.2", "--quiet", "--out", str(phi)],
        ["train", "--data", str(phi), "--out", str(run), "--dim", "16", "--token-dim", "8", "--epochs", "1",
         "--batch-size", "32", "--valid-limit", "8", "--quiet"],
        ["tasks", str(phi), "--split", "test", "--lengths", "2,3", "--per-length", "5", "--out", str(tasks)],
    ]
    for step in steps:
        done = runner.invoke(main, step)
        assert done.exit_code == 0, (step[0], done.output)
    assert json.loads((run / "model.json").read_text())["model"]["domain"] == "digits"
    assert all(json.loads(line)["domain"] == "digits" for line in tasks.read_text().splitlines())
    solved = runner.invoke(main, ["solve", str(tasks), "--model", str(run / "model"), "--calls", "1e4"])
    assert solved.exit_code == 0, solved.output
    assert "solved 10/10" in solved.output, solved.output  # 11 primitives: lengths 2-3 fall within 10^4 calls


class _EntryPoint:
    def __init__(self, name, value, loaded):
        self.name, self.value, self._loaded = name, value, loaded

    def load(self):
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def test_entry_points_register_domains_and_a_broken_one_only_warns(monkeypatch):
    from worldmodel.datasets import _registry

    points = [_EntryPoint("digits", "custom_domain:make_digits", _make_digits()),
              _EntryPoint("broken", "nowhere:nothing", ImportError("no module named 'nowhere'"))]
    monkeypatch.setattr(_registry, "entry_points", lambda group: points if group == "worldmodel.domains" else [])
    monkeypatch.setattr(_registry, "DOMAINS", {k: v for k, v in DOMAINS.items() if k != "digits"})
    with pytest.warns(RuntimeWarning) as caught:
        _registry._register_entry_points()
    assert [str(w.message) for w in caught] == [
        "entry point 'broken' (nowhere:nothing) of worldmodel.domains did not give a domain: "
        "ImportError: no module named 'nowhere'"]
    assert _registry.DOMAINS["digits"].name == "digits"


def test_the_same_definition_registers_again_and_another_under_its_name_is_refused():
    first, again = register_domain(_make_digits()()), _make_digits()()  # new function objects
    assert register_domain(again) is again and DOMAINS["digits"] is again
    with pytest.raises(DomainError, match="another domain is registered as 'digits'"):
        register_domain(dataclasses.replace(first, signatures=first.signatures[:1]))


def test_a_name_another_domain_has_is_refused():
    with pytest.raises(DomainError, match="another domain is registered as 'arith'"):
        register_domain(Domain("arith", DOMAINS["deepcoder"].primitives))
    with pytest.raises(DomainError, match="takes a Domain"):
        register_domain("arith")
