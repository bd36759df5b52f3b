"""Every config refuses a bad field with ``ConfigError``, naming the field.

The packages' exceptions all derive from ``WorldModelError`` (``test_exports.py``) and no
broad error is swallowed (``test_imports.py``); this file holds the configs to that.
"""

import ast
import math
from pathlib import Path

import pytest
from worldmodel.datasets import Bounds, ConfigError, GenerateConfig, WorldModelError
from worldmodel.inference import (
    BenchConfig,
    Budget,
    EnergySearchConfig,
    EnumerationConfig,
    GuidedSearchConfig,
    LatentSearchConfig,
    LearnConfig,
    MCMCSearchConfig,
    PolicySearchConfig,
)

import worldmodel
from worldmodel import DynamicsConfig, EditPathConfig, PolicyConfig, PolicyTrainConfig, TrainConfig

ROOT = Path(__file__).parents[1]
FOLDERS = ("datasets", "worldmodel", "inference")
# Validated option dataclasses whose names do not end in "Config".
OPTIONS = {"Bounds", "Budget", "DataParallel"}


def _raises_value_error(path: Path):
    """``(class, line)`` of each ``raise ValueError`` in a config's ``__post_init__``."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ClassDef) or not (node.name.endswith("Config") or node.name in OPTIONS):
            continue
        for method in node.body:
            if isinstance(method, ast.FunctionDef) and method.name == "__post_init__":
                for raised in ast.walk(method):
                    if isinstance(raised, ast.Raise) and raised.exc is not None:
                        error = raised.exc.func if isinstance(raised.exc, ast.Call) else raised.exc
                        if isinstance(error, ast.Name) and error.id == "ValueError":
                            yield node.name, raised.lineno


def _configs(path: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Config") or node.name in OPTIONS)}


def _sources() -> list[Path]:
    return [path for folder in FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def test_no_config_raises_a_bare_value_error():
    found = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in _sources() for name, line in _raises_value_error(path)]
    assert not found, "raise ConfigError (naming the field and the fix) instead: " + ", ".join(found)


def test_the_scan_sees_the_configs():
    # The test above must look at the configs it is about, not at nothing.
    seen = set().union(*map(_configs, _sources()))
    assert {"GenerateConfig", "TrainConfig", "BenchConfig", "Bounds", "Budget", "LatentSearchConfig"} <= seen


def test_the_scan_sees_a_bare_value_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("class FooConfig:\n    def __post_init__(self):\n        if self.x < 0:\n            raise ValueError('x')\n")
    assert list(_raises_value_error(bad)) == [("FooConfig", 4)]


def test_config_error_is_one_class_and_a_value_error():
    assert worldmodel.ConfigError is ConfigError
    assert issubclass(ConfigError, WorldModelError) and issubclass(ConfigError, ValueError)


# One bad field per row: the config, its arguments, and what the message must say.
BAD = [
    (GenerateConfig, {"count": 0}, "GenerateConfig.count must be >= 1, got 0"),
    (GenerateConfig, {"count": 1, "min_yield": 1.0}, "GenerateConfig.min_yield must be in (0, 1)"),
    (GenerateConfig, {"count": 1, "motif_rate": -0.5}, "GenerateConfig.motif_rate must be in [0, 1]"),
    (Bounds, {"max_statements": -1}, "Bounds.max_statements must be >= 0, got -1"),
    (Bounds, {"min_value": 1, "max_value": 0}, "Bounds.min_value 1 > max_value 0"),
    (TrainConfig, {"chain_length": 1}, "TrainConfig.chain_length must be >= 2 (ranking needs d and d+1)"),
    (TrainConfig, {"time_limit": 0.0}, "TrainConfig.time_limit must be > 0 or None, got 0.0"),
    (PolicyConfig, {"flow_layers": 0}, "PolicyConfig.flow_layers must be >= 1"),
    (PolicyConfig, {"domain": "nope"}, "PolicyConfig.domain must be one of ["),
    (PolicyTrainConfig, {"negatives": -1}, "PolicyTrainConfig.negatives must be >= 0 or None"),
    (DynamicsConfig, {"solver": "leapfrog"}, "DynamicsConfig.solver must be one of ['dopri5', 'euler'"),
    (EditPathConfig, {"repair_paths": -1}, "EditPathConfig.repair_paths must be >= 0"),
    (Budget, {"calls": -1}, "Budget.calls must be >= 0 or None, got -1"),
    (Budget, {"seconds": 0}, "Budget.seconds must be > 0 or None, got 0"),
    (BenchConfig, {"workers": 0}, "BenchConfig.workers must be >= 1 or None"),
    (BenchConfig, {"domain": "nope"}, "BenchConfig.domain must be one of ["),
    (EnumerationConfig, {"max_size": "3"}, "EnumerationConfig.max_size must be a number >= 0 or None, got '3'"),
    (EnumerationConfig, {"check_every": 3}, "EnumerationConfig.check_every must be a power of two"),
    (LearnConfig, {"method": "nope"}, "LearnConfig.method must be one of ["),
    (EnergySearchConfig, {"cooling": math.nan}, "EnergySearchConfig.cooling must be in (0, 1], got nan"),
    (EnergySearchConfig, {"min_temperature": 2.0, "initial_temperature": 1.0}, "EnergySearchConfig.min_temperature must be <="),
    (GuidedSearchConfig, {"floor": 0}, "GuidedSearchConfig.floor must be in (0, 1]"),
    (LatentSearchConfig, {"bo_proposals": "grid"}, "LatentSearchConfig.bo_proposals must be one of ['box', 'q']"),
    (LatentSearchConfig, {"step_size": 0.0}, "LatentSearchConfig.step_size must be > 0"),
    (MCMCSearchConfig, {"temperature": math.nan}, "MCMCSearchConfig.temperature must be > 0, got nan"),
    (PolicySearchConfig, {"growth": 1}, "PolicySearchConfig.growth must be >= 2 (the width must grow), got 1"),
]


@pytest.mark.parametrize("config, kwargs, message", BAD, ids=[f"{c.__name__}-{list(k)[-1]}" for c, k, _ in BAD])
def test_a_bad_field_is_refused_by_name(config, kwargs, message):
    with pytest.raises(ConfigError) as caught:
        config(**kwargs)
    assert message in str(caught.value)
