"""worldmodel: energy-based and flow-based world models of programs."""

__version__ = "0.1.0"

from ._checkpoint import CheckpointError, load_model, save_model
from ._config import ConfigError, ModelConfig, TrainConfig
from ._data import TaskSample, TrainingDataError, load_tasks, random_edit, sample_chain, sample_task
from ._features import Featurizer, PairBatch, ProgramBatch, SpecBatch, pair_features
from ._metrics import EvaluationResult, evaluate
from ._model import WorldModel
from ._training import EnergyTerm, FitResult, LossTerm, SimilarityTerm, default_terms, fit

__all__ = [
    "CheckpointError",
    "EnergyTerm",
    "EvaluationResult",
    "FitResult",
    "LossTerm",
    "SimilarityTerm",
    "TaskSample",
    "TrainingDataError",
    "default_terms",
    "evaluate",
    "fit",
    "load_tasks",
    "random_edit",
    "sample_chain",
    "sample_task",
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
