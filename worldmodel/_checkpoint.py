"""Checkpoints: tensors in safetensors, everything else in JSON (never pickle).

A model checkpoint is two files, ``<base>.safetensors`` (the state dict) and
``<base>.json`` (format tag, :class:`ModelConfig`, the tensors file's SHA-256). The JSON
is written last, so a reader never pairs it with a half-written tensors file, and the
checksum catches a tensors file from another save.

Loading trusts nothing before it is checked, and allocates nothing for a config until
the config has been validated against its schema (types, sizes within
:data:`~worldmodel._config.MODEL_LIMITS`), the tensors file matches the checksum, and
the model the config describes has exactly the tensors the file holds (its shapes are
read off a model built on the ``meta`` device, which allocates no memory). JSON files
are read only up to a size bound, and deep nesting is an error, not a crash.

Training checkpoints (model, optimizer and position together) are
:mod:`._training_checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from worldmodel.datasets import (
    DOMAINS,
    Skill,
    WorldModelError,
    atomic_write_bytes,
    atomic_write_text,
    library_from_json,
    library_to_json,
)

from ._config import ConfigError, ModelConfig, config_from_dict
from ._dynamics import DYNAMICS_LIMITS, DynamicsConfig, DynamicsHead
from ._latent_head import LATENT_LIMITS, LatentConfig, LatentHead
from ._policy import PolicyConfig

__all__ = [
    "CheckpointError",
    "save_model",
    "load_model",
    "save_dynamics",
    "load_dynamics",
]

DYNAMICS_FORMAT = "worldmodel-dynamics"
_OPTIONAL_HEADS = ("policy", "dynamics", "latent", "skills")  # what a checkpoint holds when the model has it

FORMAT = "worldmodel-checkpoint"
VERSION = 1

_METADATA_KEY = "worldmodel"  # the configs, as JSON, in the tensors file's metadata

MAX_JSON_BYTES = 1 << 20
"""Largest ``model.json`` read (1 MiB; a real one is under 1 KB)."""
MAX_STATE_BYTES = 64 << 20
"""Largest training ``state.json`` read (64 MiB; it grows by ~1 KB an epoch)."""

POLICY_LIMITS: dict[str, tuple[int, int]] = {
    "context_features": (0, 8192),
    "embedding_features": (1, 1024),
    "hidden_features": (1, 4096),
    "flow_layers": (1, 64),
    "max_length": (1, 64),
}
"""Bounds of a checkpoint's :class:`PolicyConfig` (the shipped one: 256, 8, 64, 3, 5)."""


class CheckpointError(WorldModelError):
    """A checkpoint is missing, corrupt, or not a worldmodel checkpoint; names the file."""


def _base(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    return path


def _sibling(base: Path, suffix: str) -> Path:
    # not Path.with_suffix: "model.v2" must become "model.v2.json", not "model.json"
    return base.parent / (base.name + suffix)


def save_model(model, path: str | os.PathLike) -> None:
    """Write ``model`` as ``<base>.safetensors`` + ``<base>.json`` (``.json``/``.safetensors`` suffix optional).

    Example:
        >>> import tempfile, os
        >>> from worldmodel import WorldModel, ModelConfig
        >>> model = WorldModel(ModelConfig(dim=16, token_dim=8))
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny")
        >>> save_model(model, path)
        >>> sorted(os.listdir(os.path.dirname(path)))
        ['tiny.json', 'tiny.safetensors']
    """
    base = _base(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    configs = {"model": model.config.to_dict()}
    if getattr(model, "policy", None) is not None:
        configs["policy"] = model.policy.to_config()
    if getattr(model, "dynamics", None) is not None:
        configs["dynamics"] = model.dynamics.config.to_dict()
    if getattr(model, "latent", None) is not None:
        configs["latent"] = model.latent.config.to_dict()
    if getattr(model, "skills", ()):
        configs["skills"] = json.loads(library_to_json(model.skills, model.domain.primitives))["skills"]
    # The configs also go inside the tensors file, which the checksum covers, so that an
    # edited JSON config is caught. One metadata key: safetensors writes its metadata
    # from a hash map, so with two keys their order (and the bytes) changed run to run.
    inside = json.dumps({"format": FORMAT, "version": VERSION, **configs}, sort_keys=True, separators=(",", ":"))
    data = save_tensors(state, metadata={_METADATA_KEY: inside})
    tensors = _sibling(base, ".safetensors")
    atomic_write_bytes(tensors, data)
    record = {
        "format": FORMAT,
        "version": VERSION,
        "model": configs["model"],
        "sha256": hashlib.sha256(data).hexdigest(),
        "parameters": sum(v.numel() for v in state.values()),
    }
    for optional in _OPTIONAL_HEADS:
        if optional in configs:
            record[optional] = configs[optional]
    atomic_write_text(_sibling(base, ".json"), json.dumps(record, indent=2) + "\n")


def _read_json(path: Path, *, limit: int = MAX_JSON_BYTES) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read ({error})") from None
    if len(data) > limit:
        raise CheckpointError(f"{path}: larger than {limit} bytes; not a worldmodel checkpoint file")
    try:
        record = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{path}: not UTF-8 (byte {error.start}); the file is corrupt") from None
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not JSON ({error.msg} at line {error.lineno}); the file is corrupt") from None
    except RecursionError:
        raise CheckpointError(f"{path}: JSON nested too deeply; the file is corrupt") from None
    except ValueError as error:  # an integer past Python's digit limit
        raise CheckpointError(f"{path}: unreadable JSON ({error}); the file is corrupt") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return record


def _check_record(record: dict, meta_path: Path) -> None:
    """The fields of ``model.json`` beyond the configs have their types."""
    if record.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not a worldmodel checkpoint (format {record.get('format')!r:.60}, expected {FORMAT!r})")
    if record.get("version") != VERSION or isinstance(record.get("version"), bool):
        raise CheckpointError(f"{meta_path}: checkpoint version {record.get('version')!r:.60}; this worldmodel reads version {VERSION}")
    digest = record.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise CheckpointError(f"{meta_path}: field 'sha256' must be 64 hex digits, got {digest!r:.80}")
    if not isinstance(record.get("model"), dict):
        raise CheckpointError(f"{meta_path}: field 'model' must be an object (the ModelConfig)")
    if record.get("policy") is not None and not isinstance(record["policy"], dict):
        raise CheckpointError(f"{meta_path}: field 'policy' must be an object (the PolicyConfig) or null")
    if record.get("dynamics") is not None and not isinstance(record["dynamics"], dict):
        raise CheckpointError(f"{meta_path}: field 'dynamics' must be an object (the DynamicsConfig) or null")
    if record.get("latent") is not None and not isinstance(record["latent"], dict):
        raise CheckpointError(f"{meta_path}: field 'latent' must be an object (the LatentConfig) or null")
    if record.get("skills") is not None and not isinstance(record["skills"], list):
        raise CheckpointError(f"{meta_path}: field 'skills' must be a list (the skill library) or null")


def _configs_inside(data: bytes) -> dict | None:
    """The configs :func:`save_model` put in the tensors file's metadata; ``None`` for a
    checkpoint saved before it did (like the shipped one) or a header it cannot read
    (``load_tensors`` then says what is wrong)."""
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if not 0 < size <= len(data) - 8:
        return None
    try:
        header = json.loads(data[8 : 8 + size])
        inside = json.loads(header["__metadata__"][_METADATA_KEY])
    except (ValueError, RecursionError, KeyError, TypeError):
        return None
    return inside if isinstance(inside, dict) else None


def _state_shapes(config: ModelConfig, skills: Sequence[Skill] = ()) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of a model of ``config`` with ``skills`` (no policy), allocating nothing."""
    from ._model import WorldModel

    with torch.device("meta"):
        model = WorldModel(config)
        if skills:
            model.add_skills(skills)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _head_shapes(head_type: type, config: object) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of a head ``head_type(config)``, allocating nothing."""
    with torch.device("meta"):
        head = head_type(config)
    return {name: tuple(t.shape) for name, t in head.state_dict().items()}


def _check_shapes(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]], what: str,
                  meta_path: Path, tensors_path: Path) -> None:
    if found != expected:
        missing = sorted(set(expected) - set(found))[:3]
        extra = sorted(set(found) - set(expected))[:3]
        wrong = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])[:3]
        raise CheckpointError(
            f"{tensors_path}: tensors do not fit the {what} in {meta_path} "
            f"(missing {missing}, unexpected {extra}, other shapes {wrong}); the files are not one checkpoint"
        )


def _check_fits(state: dict[str, torch.Tensor], config: ModelConfig, policy: PolicyConfig | None,
                meta_path: Path, tensors_path: Path, dynamics: DynamicsConfig | None = None,
                latent: LatentConfig | None = None, skills: Sequence[Skill] = ()) -> None:
    """Refuse, before a real model is built, a config that does not describe the file."""
    expected = _state_shapes(config, skills)
    for name, head_type, head_config in (("dynamics", DynamicsHead, dynamics), ("latent", LatentHead, latent)):
        held = {k.removeprefix(f"{name}."): tuple(v.shape) for k, v in state.items() if k.startswith(f"{name}.")}
        if head_config is None and held:
            raise CheckpointError(f"{tensors_path}: holds {name} tensors but {meta_path} has no {name!r}")
        if head_config is not None:
            _check_shapes(held, _head_shapes(head_type, head_config), f"{name} config", meta_path, tensors_path)
    found = {k: tuple(v.shape) for k, v in state.items() if not k.startswith(("policy.", "dynamics.", "latent."))}
    _check_shapes(found, expected, "config", meta_path, tensors_path)
    held = sum(v.numel() for k, v in state.items() if k.startswith("policy."))
    if policy is None:
        if held:
            raise CheckpointError(f"{tensors_path}: holds policy tensors but {meta_path} has no 'policy'")
        return
    # Each flow layer of a FlowPolicy has a hidden x hidden weight: a config that needs
    # more numbers than the file holds cannot match it, and would only allocate memory.
    if policy.flow_layers * policy.hidden_features**2 > held:
        raise CheckpointError(
            f"{tensors_path}: tensors do not fit the policy config in {meta_path} "
            f"(it needs more than the {held} policy numbers the file holds)"
        )


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu"):
    """Load a model written by :func:`save_model`.

    Nothing is built before the JSON has been checked against its schema, the tensors
    file against the checksum, and the config against the tensors' shapes.

    Raises:
        CheckpointError: a file is missing, corrupt (bad JSON, checksum mismatch,
            unreadable tensors), foreign (no worldmodel format tag), has a config of
            the wrong types or sizes, or does not fit the model its config describes;
            the message names the file.
    """
    from ._model import WorldModel

    base = _base(path)
    meta_path = _sibling(base, ".json")
    record = _read_json(meta_path)
    _check_record(record, meta_path)
    try:
        config = ModelConfig.from_dict(record["model"])
        policy = None
        if record.get("policy") is not None:
            policy = config_from_dict(PolicyConfig, record["policy"], limits=POLICY_LIMITS)
        dynamics = None
        if record.get("dynamics") is not None:
            dynamics = config_from_dict(DynamicsConfig, record["dynamics"], limits=DYNAMICS_LIMITS)
        latent = None
        if record.get("latent") is not None:
            latent = config_from_dict(LatentConfig, record["latent"], limits=LATENT_LIMITS)
        skills = ()
        if record.get("skills"):
            if config.domain not in DOMAINS:
                raise ConfigError(f"ModelConfig.domain {config.domain!r} is unknown; choose one of {sorted(DOMAINS)}")
            skills = tuple(library_from_json(json.dumps({"skills": record["skills"]}), DOMAINS[config.domain].primitives))
    except ConfigError as error:
        raise CheckpointError(f"{meta_path}: bad model config: {error}") from None
    except ValueError as error:  # a skill that does not parse or expand as recorded
        raise CheckpointError(f"{meta_path}: field 'skills': {error}") from None
    # The pair is found by name, so both files may be renamed or copied together
    # (as the shipped checkpoint is); the checksum ties them.
    tensors_path = _sibling(base, ".safetensors")
    try:
        data = tensors_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{tensors_path}: missing (named by {meta_path})") from None
    except OSError as error:
        raise CheckpointError(f"{tensors_path}: cannot read ({error})") from None
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise CheckpointError(f"{tensors_path}: checksum differs from {meta_path}; the file is corrupt or from another save")
    inside = _configs_inside(data)
    if inside is not None and [inside.get(k) for k in ("model", *_OPTIONAL_HEADS)] != [
        record.get(k) for k in ("model", *_OPTIONAL_HEADS)
    ]:
        raise CheckpointError(
            f"{meta_path}: its config differs from the one saved inside {tensors_path} "
            "(the JSON was edited, or is from another save); use the pair save_model wrote"
        )
    try:
        state = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{tensors_path}: unreadable safetensors ({error})") from None
    try:
        _check_fits(state, config, policy, meta_path, tensors_path, dynamics, latent, skills)
        model = WorldModel(config)
        if skills:
            model.add_skills(skills)
        if policy is not None:
            model.attach_policy(policy)
        if dynamics is not None:
            model.attach_dynamics(dynamics)
        if latent is not None:
            model.attach_latent(latent)
    except ConfigError as error:
        raise CheckpointError(f"{meta_path}: bad model config: {error}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{tensors_path}: tensors do not fit the config in {meta_path}: {error}") from None
    return model.to(map_location)


# -- dynamics heads on their own ---------------------------------------------------------


def save_dynamics(head: DynamicsHead, path: str | os.PathLike) -> None:
    """Write a :class:`DynamicsHead` alone as ``<base>.safetensors`` + ``<base>.json``.

    A head trained apart from a model's other heads (it shares none of their weights)
    is kept this way until it joins a model: ``model.attach_dynamics(load_dynamics(p))``
    and ``model.save(...)`` put it in the model's checkpoint.

    Example:
        >>> import tempfile, os
        >>> from worldmodel import DynamicsConfig, DynamicsHead
        >>> path = os.path.join(tempfile.mkdtemp(), "dyn")
        >>> save_dynamics(DynamicsHead(DynamicsConfig(dim=8, heads=2)), path)
        >>> load_dynamics(path).config.dim
        8
    """
    base = _base(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in head.state_dict().items()}
    config = head.config.to_dict()
    inside = json.dumps({"format": DYNAMICS_FORMAT, "version": VERSION, "dynamics": config}, sort_keys=True,
                        separators=(",", ":"))
    data = save_tensors(state, metadata={_METADATA_KEY: inside})
    atomic_write_bytes(_sibling(base, ".safetensors"), data)
    record = {"format": DYNAMICS_FORMAT, "version": VERSION, "dynamics": config,
              "sha256": hashlib.sha256(data).hexdigest(), "parameters": sum(v.numel() for v in state.values())}
    atomic_write_text(_sibling(base, ".json"), json.dumps(record, indent=2) + "\n")


def load_dynamics(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> DynamicsHead:
    """Load a head written by :func:`save_dynamics`, checked as :func:`load_model` checks.

    Raises:
        CheckpointError: a file is missing or corrupt, the config is invalid, or the
            tensors do not fit it; the message names the file.
    """
    base = _base(path)
    meta_path = _sibling(base, ".json")
    record = _read_json(meta_path)
    if record.get("format") != DYNAMICS_FORMAT:
        raise CheckpointError(
            f"{meta_path}: not a worldmodel dynamics file (format {record.get('format')!r:.60}, expected {DYNAMICS_FORMAT!r})"
        )
    if record.get("version") != VERSION or isinstance(record.get("version"), bool):
        raise CheckpointError(f"{meta_path}: dynamics file version {record.get('version')!r:.60}; this worldmodel reads {VERSION}")
    digest = record.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        raise CheckpointError(f"{meta_path}: field 'sha256' must be 64 hex digits, got {digest!r:.80}")
    try:
        config = config_from_dict(DynamicsConfig, record.get("dynamics"), limits=DYNAMICS_LIMITS)
    except ConfigError as error:
        raise CheckpointError(f"{meta_path}: bad dynamics config: {error}") from None
    tensors_path = _sibling(base, ".safetensors")
    try:
        data = tensors_path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{tensors_path}: cannot read ({error.strerror or error})") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise CheckpointError(f"{tensors_path}: checksum differs from {meta_path}; the file is corrupt or from another save")
    try:
        state = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{tensors_path}: unreadable safetensors ({error})") from None
    _check_shapes({k: tuple(v.shape) for k, v in state.items()}, _head_shapes(DynamicsHead, config), "dynamics config",
                  meta_path, tensors_path)
    head = DynamicsHead(config)
    head.load_state_dict(state, strict=True)
    return head.to(map_location)
