"""The files of a ``generate`` run while it works: shard writers and the checkpointed
state a rerun restores (see :mod:`._generate` for the run itself).

Each split's records go to ``.shard-NNNNN.jsonl.partial`` and a shard gets its final
name (and its checksum in the state) at the checkpoint after it fills. A rerun
truncates every file to the last checkpoint, which is why an interrupted run ends with
the same bytes as one that was never stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ._phi_reader import WORK

if TYPE_CHECKING:
    from ._generate import GenerateConfig

__all__ = ["SHARD", "SplitWriter", "clear_outputs", "fresh_state", "restore"]

SHARD = "shard-{:05d}.jsonl"
"""A shard's file name, from its index."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class SplitWriter:
    """Appends records of one split to ``.shard-NNNNN.jsonl.partial`` and rolls shards."""

    def __init__(self, root: Path, split: str, shard_size: int, state: dict):
        self.folder = root / split
        self.folder.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.shard_size = shard_size
        self.completed: list[dict] = state["completed"]  # shards renamed to their final name
        self.full: list[dict] = []  # full shards waiting for the next checkpoint to be renamed
        self.index: int = state["index"]
        self.records: int = state["records"]
        self.bytes: int = state["bytes"]
        self.handle = open(self._partial(self.index), "ab")

    def _partial(self, index: int) -> Path:
        return self.folder / f".{SHARD.format(index)}.partial"

    def write(self, line: str) -> None:
        data = line.encode() + b"\n"
        self.handle.write(data)
        self.records += 1
        self.bytes += len(data)
        if self.records == self.shard_size:
            self._roll()

    def _roll(self) -> None:
        self.handle.close()
        self.full.append({"index": self.index, "records": self.records})
        self.index += 1
        self.records = self.bytes = 0
        self.handle = open(self._partial(self.index), "ab")

    def checkpoint(self, *, final: bool = False) -> dict:
        """Flush, rename full shards (and at the end the last one), and return the state."""
        self.handle.flush()
        if final:
            self.handle.close()
            if self.records:
                self.full.append({"index": self.index, "records": self.records})
            else:
                self._partial(self.index).unlink()
        for shard in self.full:
            name = SHARD.format(shard["index"])
            os.replace(self._partial(shard["index"]), self.folder / name)
            self.completed.append(
                {"file": f"{self.split}/{name}", "records": shard["records"], "sha256": _sha256(self.folder / name)}
            )
        self.full = []
        return {"completed": list(self.completed), "index": self.index, "records": self.records, "bytes": self.bytes}

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


def fresh_state(config: GenerateConfig) -> dict:
    return {
        "length": config.min_length,
        "block": 0,
        "length_records": 0,
        "quota": None,
        "window": [],
        "digests": 0,
        "counts": {n: {str(L): 0 for L in range(config.min_length, config.max_length + 1)} for n, _ in config.splits},
        "stats": {k: {str(L): 0 for L in range(config.min_length, config.max_length + 1)}
                  for k in ("candidates", "invalid", "constant", "degenerate", "duplicate", "exhausted")},
        "writers": {n: {"completed": [], "index": 0, "records": 0, "bytes": 0} for n, _ in config.splits},
    }


def clear_outputs(root: Path, config: GenerateConfig) -> None:
    """Remove our own shard files, state and manifest (never anything else).

    Called once ``params.json`` is written, so a kill in the middle leaves a directory
    that a rerun recognises as an unfinished dataset.
    """
    (root / WORK / "state.json").unlink(missing_ok=True)
    for name, _ in config.splits:
        folder = root / name
        if folder.is_dir():
            for path in folder.glob("shard-*.jsonl"):
                path.unlink()
            for path in folder.glob(".shard-*.jsonl.partial"):
                path.unlink()
    (root / "manifest.json").unlink(missing_ok=True)


def restore(root: Path, config: GenerateConfig) -> dict | None:
    """The checkpointed state with files truncated to it, or ``None`` if it cannot be trusted."""
    try:
        state = json.loads((root / WORK / "state.json").read_text())
    except (OSError, ValueError):
        return None
    digests = root / WORK / "digests.bin"
    if not digests.exists() or digests.stat().st_size < 8 * state["digests"]:
        return None
    for name, _ in config.splits:
        w = state["writers"][name]
        folder = root / name
        for shard in w["completed"]:
            path = root / shard["file"]
            if not path.exists() or _sha256(path) != shard["sha256"]:
                return None  # a completed shard is missing or corrupt: redo from the start
        partial = folder / f".{SHARD.format(w['index'])}.partial"
        final = folder / SHARD.format(w["index"])
        if not partial.exists() and final.exists():
            os.replace(final, partial)  # renamed after the checkpoint was taken
        if not partial.exists() and w["bytes"] == 0:
            partial.touch()
        if not partial.exists() or partial.stat().st_size < w["bytes"]:
            return None
        with open(partial, "r+b") as handle:
            handle.truncate(w["bytes"])
        for path in folder.glob("shard-*.jsonl"):
            if int(path.stem.split("-")[1]) >= w["index"]:
                path.unlink()  # written after the checkpoint; will be written again
        for path in folder.glob(".shard-*.jsonl.partial"):
            if path != partial:
                path.unlink()
    with open(digests, "r+b") as handle:
        handle.truncate(8 * state["digests"])
    return state
