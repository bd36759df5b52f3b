"""Dataclass configs: one per component, combined into one run config.

Every config checks its fields when it is built: each has its annotated type (an
``int`` field takes no float and no bool; a float is finite), lies within stated
bounds, and a config read from JSON (:func:`config_from_dict`, used for checkpoints)
has no unknown keys. So a config from a file cannot ask for a 160 GB model or reach
``range(1.5)``; it fails here, as :class:`ConfigError`, naming the field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from worldmodel.datasets import ConfigError, require_at_least, require_positive

__all__ = ["ModelConfig", "TrainConfig", "ConfigError", "config_from_dict"]


# The types a field annotated so accepts (annotations are strings here).
_ACCEPTS = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "int | None": (int, type(None)),
    "float | None": (int, float, type(None)),
}


def _check_value(owner: str, f, value: object) -> None:
    accepts = _ACCEPTS.get(f.type) if isinstance(f.type, str) else None
    if accepts is None:
        return
    if not isinstance(value, accepts) or isinstance(value, bool) and bool not in accepts:
        kind = f.type.replace(" | None", " or None")
        raise ConfigError(f"{owner}.{f.name} must be {kind}, got {type(value).__name__} {value!r:.60}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{owner}.{f.name} must be a finite number, got {value!r}")


def _check_types(obj: object) -> None:
    """Each field of the dataclass ``obj`` has its annotated type."""
    for f in fields(obj):
        _check_value(type(obj).__name__, f, getattr(obj, f.name))


def _within(obj: object, limits: dict[str, tuple[float, float]]) -> None:
    for name, (low, high) in limits.items():
        value = getattr(obj, name)
        if value is not None and not low <= value <= high:
            raise ConfigError(f"{type(obj).__name__}.{name} must be in [{low}, {high}], got {value!r}")


MODEL_LIMITS: dict[str, tuple[int, int]] = {
    "dim": (1, 4096),
    "token_dim": (1, 4096),
    "max_variables": (1, 1024),
    "max_program_tokens": (1, 8192),
    "primitive_width": (1, 8192),
    "value_width": (1, 8192),
}
"""Bounds of :class:`ModelConfig`'s sizes: generous (the shipped model uses 128, 64, 32,
128), and small enough that no config asks for more memory than a machine has."""

TRAIN_LIMITS: dict[str, tuple[float, float]] = {
    "epochs": (1, 10**6),
    "batch_size": (1, 10**5),
    "chain_length": (2, 64),
    "hard_negatives": (0, 1024),
    "batch_negatives": (0, 1024),
    "workers": (0, 256),
    "checkpoint_every": (1, 10**9),
    "keep_checkpoints": (1, 10**4),
    "valid_limit": (0, 10**9),
    "warmup": (0, 10**9),
    "accumulate": (1, 10**5),
}
"""Bounds of :class:`TrainConfig`'s counts (see :data:`MODEL_LIMITS`)."""


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the encoders and heads of a :class:`WorldModel`.

    Attributes:
        domain: name of the domain the model is for (default ``"deepcoder"``).
        dim: width D of every latent: value, example, program latent ``z`` (default 128).
        token_dim: width of the value- and program-token embeddings (default 64).
        max_variables: most variables (inputs + statements) a program may have; it sizes
            the program-token vocabulary (default 32).
        max_program_tokens: most program tokens (positional table size, default 128).
        lookahead: add the one-step look-ahead execution feature (default True).
        primitive_width: hidden width of the primitive head's layers (default ``None``:
            ``2 * dim``).
        value_width: hidden width of the value head (``worldmodel/_value_head.py``),
            which says which values a bottom-up search builds lie on the way to the
            target; ``None``: the model has none (default; :meth:`WorldModel.attach_value_head`
            adds one). It runs on every value a search builds, so it is kept narrow.

    Example:
        >>> ModelConfig(dim=64).dim
        64
    """

    domain: str = "deepcoder"
    dim: int = 128
    token_dim: int = 64
    max_variables: int = 32
    max_program_tokens: int = 128
    lookahead: bool = True
    primitive_width: int | None = None
    value_width: int | None = None

    def __post_init__(self) -> None:
        _check_types(self)
        _within(self, MODEL_LIMITS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build from a JSON dict; unknown keys raise :class:`ConfigError`."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`fit` trains (data sampling, optimisation, checkpoints).

    Attributes:
        epochs: passes over the training tasks (default 10).
        batch_size: tasks per step (default 64).
        lr: peak AdamW learning rate (default 1e-3), cosine-decayed after ``warmup`` steps.
        weight_decay: AdamW weight decay (default 0.01).
        warmup: linear warm-up steps (default 100).
        grad_clip: max gradient norm (default 1.0).
        chain_length: edits in each corruption chain φ → φ₁ → … (default 4).
        hard_negatives: extra random one- and two-edit neighbours per task (default 6).
        batch_negatives: other tasks' programs run on each spec (default 4).
        margin: margin of the chain ranking losses (default 0.5).
        energy_weight / ranking_weight / similarity_weight: loss weights (default 1.0 each).
        seed: seeds data sampling and initialisation; batch ``i`` of epoch ``e`` is a pure
            function of ``(seed, e, i)``, so resuming cannot change the data (default 0).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... (default ``"cpu"``).
        amp: bf16 autocast when the device is a GPU (default True; ignored on CPU).
        workers: DataLoader worker processes building batches (default 0: in-process).
        checkpoint_every: steps between checkpoints (default 500; one also ends each epoch).
        keep_checkpoints: how many step checkpoints to keep (default 2).
        valid_limit: most held-out tasks evaluated each epoch (default 256).
        max_steps: stop after this many steps in total (default None: run all epochs).
        time_limit: stop after this many seconds of this run (default None); like
            ``max_steps`` it checkpoints and exports the model, and rerunning resumes.
        policy_weight: weight of the policy's loss when the model has a policy (default 1.0).
        primitive_weight: weight of the primitive head's loss (default 1.0).
        value_weight: weight of the value head's loss, when the model has one (default 1.0).
        spec_batch_size: tasks per step for the terms that read only specs (the primitive
            head); the program-level terms (energy, similarity, policy) take the first
            ``batch_size`` of them. It sets the epoch: one epoch is one pass of the
            spec-level terms over the tasks (default ``None``: ``batch_size``).
        only: train only the loss term of this name and only its head's parameters;
            every other weight stays as it is, so the other heads keep their behaviour
            (default ``None``: every term, every weight). The term must name its head
            (``PrimitiveTerm``: ``"primitives"``).
        reuse_batches: when every trained term reads only specs, keep the first
            epoch's batches on the device and replay them, in a new order, in later
            epochs: featurisation then runs once instead of bounding every epoch
            (default False).
        lr_by_time: with ``time_limit``, the cosine decay runs over this run's seconds
            rather than over ``epochs``, so it ends when the time does, whatever the
            throughput (default False; needs ``time_limit``).
        accumulate: micro-batches per optimisation step (default 1). A micro-batch is
            ``step_tasks`` tasks (what one step takes at 1); the step's gradient is the
            mean of its micro-batches'. Under ``torchrun`` the micro-batches of a step
            are shared out among the processes, so the global batch is
            ``accumulate * step_tasks`` whatever their number, and the weights match a
            one-process run with the same ``accumulate``.

    Example:
        >>> TrainConfig(epochs=2, batch_size=8).batch_size
        8
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 100
    grad_clip: float = 1.0
    chain_length: int = 4
    hard_negatives: int = 6
    batch_negatives: int = 4
    margin: float = 0.5
    energy_weight: float = 1.0
    ranking_weight: float = 1.0
    similarity_weight: float = 1.0
    seed: int = 0
    device: str = "cpu"
    amp: bool = True
    workers: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    valid_limit: int = 256
    max_steps: int | None = None
    time_limit: float | None = None
    policy_weight: float = 1.0
    primitive_weight: float = 1.0
    value_weight: float = 1.0
    spec_batch_size: int | None = None
    only: str | None = None
    reuse_batches: bool = False
    lr_by_time: bool = False
    accumulate: int = 1

    def __post_init__(self) -> None:
        _check_types(self)
        require_positive(self, "epochs", "batch_size", "lr", "checkpoint_every", "keep_checkpoints", "accumulate")
        require_at_least(self, 2, "chain_length", why="(ranking needs d and d+1)")
        require_at_least(self, 0, "hard_negatives", "batch_negatives", "workers", "warmup", "valid_limit")
        require_positive(self, "max_steps", "time_limit", optional=True)
        if self.spec_batch_size is not None and self.spec_batch_size < self.batch_size:
            raise ConfigError(
                f"TrainConfig.spec_batch_size must be >= batch_size ({self.batch_size}) or None, got {self.spec_batch_size!r}"
            )
        if self.lr_by_time and self.time_limit is None:
            raise ConfigError("TrainConfig.lr_by_time needs time_limit (the seconds the cosine runs over); set both")
        _within(self, TRAIN_LIMITS)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def step_tasks(self) -> int:
        """Tasks drawn per step: ``spec_batch_size``, or ``batch_size`` if unset."""
        return self.spec_batch_size or self.batch_size

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return _from_dict(cls, data)


def _from_dict(cls, data: dict):
    return config_from_dict(cls, data)


def config_from_dict(cls, data: object, *, limits: dict[str, tuple[float, float]] | None = None):
    """Build the dataclass config ``cls`` from decoded JSON, checking it first.

    Args:
        cls: a dataclass config (its ``__post_init__`` checks run too).
        data: the decoded JSON object.
        limits: ``name -> (low, high)`` bounds checked before ``cls`` is built
            (default none beyond ``cls``'s own), for configs whose class has none.

    Raises:
        ConfigError: not an object, unknown keys, a value of the wrong type (an int
            field given ``1.5``, ``true`` or ``"3"``), or out of bounds.

    Example:
        >>> config_from_dict(ModelConfig, {"dim": 1.5})
        Traceback (most recent call last):
        ...
        worldmodel.datasets._errors.ConfigError: ModelConfig.dim must be int, got float 1.5
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(map(str, set(data) - set(known)))
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown[:10]}; valid fields are {sorted(known)}")
    for name, value in data.items():
        _check_value(cls.__name__, known[name], value)
        low, high = (limits or {}).get(name, (None, None))
        if low is not None and value is not None and not low <= value <= high:
            raise ConfigError(f"{cls.__name__}.{name} must be in [{low}, {high}], got {value!r}")
    try:
        return cls(**data)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{cls.__name__}: {error}") from None
