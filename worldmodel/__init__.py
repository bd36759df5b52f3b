"""worldmodel: energy-based and flow-based world models of programs."""

__version__ = "0.1.0"

from ._checkpoint import CheckpointError, load_dynamics, load_model, save_dynamics, save_model
from ._config import ConfigError, ModelConfig, TrainConfig
from ._data import (
    RecordTasks,
    TaskSample,
    TrainingDataError,
    UnreproducedTaskError,
    load_tasks,
    random_edit,
    sample_chain,
    sample_task,
)
from ._distributed import DataParallel
from ._dynamics import DynamicsConfig, DynamicsHead, statement_plan
from ._dynamics_term import DynamicsTerm
from ._edit_paths import (
    EditPathConfig,
    EditStep,
    construction_steps,
    edit_steps,
    empty_program,
    repair_steps,
)
from ._grammar import GrammarState, ProgramGrammar
from ._latent_head import DecodedProgram, LatentConfig, LatentHead, LatentTerm
from ._linear_stream import LinearStream, fit_linear_stream
from ._loss_terms import EnergyTerm, LossTerm, SimilarityTerm, default_terms
from ._memory import MemoryEntry, MemoryFileError, TaskMemories, TaskMemory
from ._metrics import EvaluationResult, evaluate
from ._model import UnsupportedTaskError, WorldModel
from ._policy import FlowPolicy, PolicyConfig
from ._policy_metrics import PolicyMetrics, evaluate_policy
from ._policy_term import PolicyTerm
from ._policy_training import PolicyTrainConfig, train_policy
from ._primitive_head import PrimitiveHead, PrimitiveTerm
from ._queries import ForwardResult, QueryValueError, forward_query, jacobian_query
from ._reverse_query import Proposal, ReverseResult, reverse_query
from ._runs import Environment, Environments, Run, interpreter_run
from ._spec_check import SpecCheck, calibrate_spec_density, spec_check
from ._training import FitResult, fit
from ._value_head import ValueHead, ValueTerm
from ._values import RankedValue, SlotCodec, top_values
from .datasets import WorldModelError

__all__ = [
    "MemoryEntry",
    "MemoryFileError",
    "TaskMemories",
    "TaskMemory",
    "DynamicsConfig",
    "DecodedProgram",
    "GrammarState",
    "LatentConfig",
    "LatentHead",
    "LatentTerm",
    "ProgramGrammar",
    "DynamicsHead",
    "DynamicsTerm",
    "LinearStream",
    "statement_plan",
    "save_dynamics",
    "load_dynamics",
    "ForwardResult",
    "Proposal",
    "ReverseResult",
    "SpecCheck",
    "calibrate_spec_density",
    "forward_query",
    "QueryValueError",
    "jacobian_query",
    "reverse_query",
    "spec_check",
    "RankedValue",
    "SlotCodec",
    "top_values",
    "EditPathConfig",
    "EditStep",
    "FlowPolicy",
    "PolicyConfig",
    "PolicyMetrics",
    "PolicyTerm",
    "PrimitiveHead",
    "PrimitiveTerm",
    "ValueHead",
    "ValueTerm",
    "PolicyTrainConfig",
    "Environment",
    "Environments",
    "Run",
    "construction_steps",
    "edit_steps",
    "interpreter_run",
    "empty_program",
    "evaluate_policy",
    "repair_steps",
    "train_policy",
    "CheckpointError",
    "WorldModelError",
    "EnergyTerm",
    "EvaluationResult",
    "FitResult",
    "LossTerm",
    "SimilarityTerm",
    "TaskSample",
    "TrainingDataError",
    "UnreproducedTaskError",
    "UnsupportedTaskError",
    "default_terms",
    "evaluate",
    "fit",
    "fit_linear_stream",
    "DataParallel",
    "load_tasks",
    "RecordTasks",
    "random_edit",
    "sample_chain",
    "sample_task",
    "ConfigError",
    "ModelConfig",
    "TrainConfig",
    "WorldModel",
    "__version__",
    "load_model",
    "save_model",
]
