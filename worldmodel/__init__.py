"""worldmodel: energy-based and flow-based world models of programs."""

__version__ = "0.1.0"

from ._checkpoint import CheckpointError, load_model, save_model
from ._config import ConfigError, ModelConfig, TrainConfig
from ._features import Featurizer, PairBatch, ProgramBatch, SpecBatch, pair_features
from ._model import WorldModel

__all__ = [
    "CheckpointError",
    "ConfigError",
    "Featurizer",
    "ModelConfig",
    "PairBatch",
    "ProgramBatch",
    "SpecBatch",
    "TrainConfig",
    "WorldModel",
    "__version__",
    "load_model",
    "pair_features",
    "save_model",
]
