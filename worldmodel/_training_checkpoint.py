"""Training checkpoints: a folder ``step-<n>/`` per checkpoint, in safetensors and JSON.

A folder holds the model files (:func:`~worldmodel.save_model`),
``optimizer.safetensors`` (AdamW moments flattened to named tensors, and the torch
random state) and ``state.json`` (epoch, batch, step, seed, history, parameter groups).
It is written under a temporary name and renamed into place, so a kill at any moment
leaves only complete folders; loading checks every field before it is used.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from worldmodel.datasets import atomic_write_bytes, atomic_write_text

from ._checkpoint import (
    FORMAT,
    MAX_STATE_BYTES,
    CheckpointError,
    _read_json,
    load_model,
    save_model,
)

__all__ = ["save_training_checkpoint", "load_training_checkpoint", "latest_checkpoint"]


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
    for stale in folder.glob(".tmp-step-*"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder / f".tmp-{name}"
    tmp.mkdir()
    save_model(model, tmp / "model")
    tensors, groups = _flatten_optimizer(optimizer)
    tensors["rng.torch"] = torch.random.get_rng_state()
    atomic_write_bytes(tmp / "optimizer.safetensors", save_tensors(tensors, metadata={"format": FORMAT}))
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


def _check_state(state: dict, path: Path) -> None:
    """The fields ``fit`` reads from a training ``state.json`` have their types."""

    def count(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    for key in ("epoch", "batch", "step"):
        if not count(state.get(key)):
            raise CheckpointError(f"{path}: field {key!r} must be an integer >= 0, got {state.get(key)!r:.60}")
    if not isinstance(state.get("history"), list) or not all(isinstance(r, dict) for r in state["history"]):
        raise CheckpointError(f"{path}: field 'history' must be a list of objects")
    groups = state.get("param_groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise CheckpointError(f"{path}: field 'param_groups' must be a list of objects")
    sums = state.get("epoch_sums", {})
    if not isinstance(sums, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in sums.values()
    ):
        raise CheckpointError(f"{path}: field 'epoch_sums' must map loss names to numbers")
    for key in ("epoch_count", "epoch_tasks"):
        if key in state and not count(state[key]):
            raise CheckpointError(f"{path}: field {key!r} must be an integer >= 0, got {state[key]!r:.60}")
    seconds = state.get("epoch_seconds", 0.0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds >= 0:
        raise CheckpointError(f"{path}: field 'epoch_seconds' must be a number >= 0, got {seconds!r:.60}")


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
    if (saved.dynamics is None) != (model.dynamics is None):
        raise CheckpointError(
            f"{checkpoint / 'model.json'}: the checkpoint {'has' if saved.dynamics is not None else 'has no'} dynamics "
            "head and this run's model does not match; use a new --out folder or the same --dynamics option"
        )
    model.load_state_dict(saved.state_dict())
    state = _read_json(checkpoint / "state.json", limit=MAX_STATE_BYTES)
    _check_state(state, checkpoint / "state.json")
    path = checkpoint / "optimizer.safetensors"
    try:
        tensors = load_tensors(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: unreadable safetensors ({error})") from None
    rng = tensors.pop("rng.torch", None)
    if rng is not None:
        try:
            torch.random.set_rng_state(rng)
        except (RuntimeError, TypeError) as error:
            raise CheckpointError(f"{path}: bad random-number state 'rng.torch' ({error})") from None
    try:
        optimizer.load_state_dict(_unflatten_optimizer(tensors, state.pop("param_groups")))
    except (KeyError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: optimizer state does not fit this model ({error})") from None
    for group in optimizer.state.values():
        for key, value in group.items():
            if isinstance(value, torch.Tensor) and key != "step":
                group[key] = value.to(device)
    return state
