"""Checkpoints: tensors in safetensors, everything else in JSON (never pickle).

A model checkpoint is two files, ``<base>.safetensors`` (the state dict) and
``<base>.json`` (format tag, :class:`ModelConfig`, the tensors file's SHA-256). The JSON
is written last, so a reader never pairs it with a half-written tensors file, and the
checksum catches a tensors file from another save.

A training checkpoint is a folder ``step-<n>/`` holding the model files,
``optimizer.safetensors`` (AdamW moments flattened to named tensors) and
``state.json`` (epoch, step, seed, parameter groups). It is written under a temporary
name and renamed into place, so a kill at any moment leaves only complete folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from worldmodel.datasets import atomic_write_text

from ._config import ConfigError, ModelConfig
from ._policy import PolicyConfig

__all__ = [
    "CheckpointError",
    "save_model",
    "load_model",
    "save_training_checkpoint",
    "load_training_checkpoint",
    "latest_checkpoint",
]

FORMAT = "worldmodel-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt, or not a worldmodel checkpoint; names the file."""


def _base(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    return path


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
    data = save_tensors(state, metadata={"format": FORMAT, "version": str(VERSION)})
    tensors = base.with_suffix(".safetensors")
    _atomic_write_bytes(tensors, data)
    record = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config.to_dict(),
        "tensors": tensors.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "parameters": sum(v.numel() for v in state.values()),
    }
    if getattr(model, "policy", None) is not None:
        record["policy"] = model.policy.to_config()
    atomic_write_text(base.with_suffix(".json"), json.dumps(record, indent=2) + "\n")


def _read_json(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read ({error})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not JSON ({error.msg} at line {error.lineno}); the file is corrupt") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return record


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu"):
    """Load a model written by :func:`save_model`.

    Raises:
        CheckpointError: a file is missing, corrupt (bad JSON, checksum mismatch,
            unreadable tensors), foreign (no worldmodel format tag), or does not fit
            the model its config describes; the message names the file.
    """
    from ._model import WorldModel

    base = _base(path)
    meta_path = base.with_suffix(".json")
    record = _read_json(meta_path)
    if record.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not a worldmodel checkpoint (format {record.get('format')!r}, expected {FORMAT!r})")
    if record.get("version") != VERSION:
        raise CheckpointError(f"{meta_path}: checkpoint version {record.get('version')!r}; this worldmodel reads version {VERSION}")
    try:
        config = ModelConfig.from_dict(record.get("model"))
        model = WorldModel(config)
        if record.get("policy") is not None:
            model.attach_policy(PolicyConfig.from_dict(record["policy"]))
    except ConfigError as error:
        raise CheckpointError(f"{meta_path}: bad model config: {error}") from None
    tensors_path = base.parent / str(record.get("tensors", base.name + ".safetensors"))
    try:
        data = tensors_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{tensors_path}: missing (named by {meta_path})") from None
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise CheckpointError(f"{tensors_path}: checksum differs from {meta_path}; the file is corrupt or from another save")
    try:
        state = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{tensors_path}: unreadable safetensors ({error})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{tensors_path}: tensors do not fit the config in {meta_path}: {error}") from None
    return model.to(map_location)


# -- training checkpoints -----------------------------------------------------------------


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    state = optimizer.state_dict()
    tensors = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"state.{index}.{key}"] = tensor.detach().to("cpu").contiguous()
    return tensors, state["param_groups"]


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], groups: list[dict]) -> dict:
    state: dict[int, dict] = {}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    return {"state": state, "param_groups": groups}


def save_training_checkpoint(folder: str | os.PathLike, model, optimizer, state: dict, *, keep: int = 2) -> Path:
    """Write ``folder/step-<state['step']>/`` atomically; keep the newest ``keep``.

    ``state`` is JSON data (epoch, step, seed, history...). Returns the new folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:09d}"
    tmp = folder / f".tmp-{name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_model(model, tmp / "model")
    tensors, groups = _flatten_optimizer(optimizer)
    tensors["rng.torch"] = torch.random.get_rng_state()
    _atomic_write_bytes(tmp / "optimizer.safetensors", save_tensors(tensors, metadata={"format": FORMAT}))
    atomic_write_text(tmp / "state.json", json.dumps({**state, "param_groups": groups}, indent=2) + "\n")
    final = folder / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in sorted(folder.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The newest complete ``step-*`` folder under ``folder``, or ``None``."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    done = [p for p in sorted(folder.glob("step-*")) if (p / "state.json").exists()]
    return done[-1] if done else None


def load_training_checkpoint(checkpoint: str | os.PathLike, model, optimizer, *, device: torch.device) -> dict:
    """Restore ``model`` and ``optimizer`` from a ``step-*`` folder; return its state dict.

    Raises:
        CheckpointError: a file is missing or corrupt, naming it.
    """
    checkpoint = Path(checkpoint)
    saved = load_model(checkpoint / "model")
    if saved.config != model.config:
        raise CheckpointError(
            f"{checkpoint / 'model.json'}: model config {saved.config} differs from this run's {model.config}; "
            "use a new --out folder or the same model options"
        )
    if (saved.policy is None) != (model.policy is None):
        raise CheckpointError(
            f"{checkpoint / 'model.json'}: the checkpoint {'has' if saved.policy is not None else 'has no'} policy and "
            "this run's model does not match; use a new --out folder or the same --policy option"
        )
    model.load_state_dict(saved.state_dict())
    state = _read_json(checkpoint / "state.json")
    path = checkpoint / "optimizer.safetensors"
    try:
        tensors = load_tensors(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: unreadable safetensors ({error})") from None
    rng = tensors.pop("rng.torch", None)
    if rng is not None:
        torch.random.set_rng_state(rng)
    try:
        optimizer.load_state_dict(_unflatten_optimizer(tensors, state.pop("param_groups")))
    except (KeyError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: optimizer state does not fit this model ({error})") from None
    for group in optimizer.state.values():
        for key, value in group.items():
            if isinstance(value, torch.Tensor) and key != "step":
                group[key] = value.to(device)
    return state
