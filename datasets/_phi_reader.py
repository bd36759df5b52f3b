"""Reading Φ: a finished dataset's manifest, its verified shards, and the tasks in them.

:mod:`._generate` writes a dataset; everything that reads one is here, so a training
run or a task-file command needs none of the writer.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np

from ._domain import Domain
from ._errors import DatasetError
from ._registry import DOMAINS
from ._tasks import Task, parse_task

__all__ = ["FORMAT", "WORK", "RecordLines", "dataset_ids", "iter_records", "read_manifest", "read_record_lines",
           "select_tasks", "verify_shards"]

FORMAT = "worldmodel.phi/1"
"""The manifest's ``format``."""
WORK = ".generate"
"""The folder of an unfinished run's state, inside the dataset's."""


def read_manifest(directory: str | os.PathLike) -> dict:
    """The manifest of a finished dataset.

    Raises:
        DatasetError: no ``manifest.json`` (not a dataset, or generation unfinished),
            or one that is not a worldmodel Φ manifest.
    """
    root = Path(directory)
    path = root / "manifest.json"
    if not path.exists():
        hint = " (generation is unfinished: rerun the same `worldmodel generate` command)" if (root / WORK).exists() else ""
        raise DatasetError(f"{path} is missing: {root} is not a finished worldmodel dataset{hint}")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as error:
        raise DatasetError(f"{path}: bad JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a worldmodel dataset manifest (expected format {FORMAT!r})")
    return manifest


def verify_shards(root: Path, manifest: dict) -> None:
    """Check every shard of ``manifest`` against its checksum; raises :class:`DatasetError` naming the file."""
    for shard in manifest["shards"]:
        _shard_bytes(root, shard)


def _shard_bytes(root: Path, shard: dict) -> bytes:
    path = root / shard["file"]
    try:
        data = path.read_bytes()
    except OSError:
        raise DatasetError(f"{path} is missing; rerun the generate command to redo it") from None
    if hashlib.sha256(data).hexdigest() != shard["sha256"]:
        raise DatasetError(f"{path}: checksum mismatch with manifest.json (corrupt shard); rerun the generate command to redo it")
    return data


def iter_records(directory: str | os.PathLike, split: str, *, domain: Domain | None = None) -> Iterator[Task]:
    """Records of one split as tasks, shard by shard in manifest order, each shard verified.

    Each task has ``.program`` and ``extra["length"]``; its id is the behaviour digest.
    Only one shard is in memory at a time.

    Args:
        directory: a finished dataset directory.
        split: the split's name, e.g. ``"train"``.
        domain: the domain to parse with (default: the manifest's).

    Returns:
        An iterator of :class:`Task`, in the same order on every call.

    Raises:
        DatasetError: missing manifest, unknown split, or a shard whose checksum or
            content is wrong (naming the file and line).
    """
    root = Path(directory)
    manifest = read_manifest(root)
    if split not in manifest["counts"]:
        raise DatasetError(f"{root}: no split {split!r}; the dataset has {sorted(manifest['counts'])}")
    domain = domain or DOMAINS[manifest["domain"]]
    for shard in manifest["shards"]:
        if not shard["file"].startswith(f"{split}/"):
            continue
        data = _shard_bytes(root, shard)
        for number, line in enumerate(data.decode().splitlines(), start=1):
            try:
                yield parse_task(json.loads(line), domain)
            except ValueError as error:
                raise DatasetError(f"{root / shard['file']}:{number}: {error}") from None


class RecordLines(Sequence):
    """The JSON lines of one split's records, in :func:`iter_records` order, read from
    their shards when indexed.

    Building it verifies every shard of the split, one at a time, and keeps only where
    each line starts (8 bytes a record), so neither a training run over a million
    records nor each of its processes holds Φ in memory: a process reads the records
    of its own batches. It pickles small, for data workers that are spawned.

    Args:
        directory: a finished dataset directory.
        split: the split's name, e.g. ``"train"``.

    Raises:
        DatasetError: as :func:`iter_records`.

    Example:
        >>> import tempfile
        >>> from worldmodel.datasets import GenerateConfig, generate
        >>> out = tempfile.mkdtemp()
        >>> _ = generate(GenerateConfig(count=20, max_length=2, splits=(("train", 1.0),)), out, progress=False)
        >>> lines = RecordLines(out, "train")
        >>> len(lines), lines[-1] == list(lines)[-1]
        (20, True)
    """

    def __init__(self, directory: str | os.PathLike, split: str):
        root = Path(directory)
        manifest = read_manifest(root)
        if split not in manifest["counts"]:
            raise DatasetError(f"{root}: no split {split!r}; the dataset has {sorted(manifest['counts'])}")
        self.files: list[Path] = []
        self.bounds: list[np.ndarray] = []  # per shard: each line's start, then the end of the last line
        self.first: list[int] = []  # per shard: the index of its first line
        count = 0
        for shard in manifest["shards"]:
            if not shard["file"].startswith(f"{split}/"):
                continue
            data = np.frombuffer(_shard_bytes(root, shard), dtype=np.uint8)
            ends = np.flatnonzero(data == ord("\n"))
            if len(data) and data[-1] != ord("\n"):  # a last line with no newline
                ends = np.append(ends, len(data))
            self.files.append(root / shard["file"])
            self.bounds.append(np.concatenate([[0], ends + 1]).astype(np.int64))
            self.first.append(count)
            count += len(ends)
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -self.count <= index < self.count:
            raise IndexError(f"record {index} of {self.count}")
        index %= self.count
        shard = bisect.bisect_right(self.first, index) - 1
        line = index - self.first[shard]
        start, stop = self.bounds[shard][line], self.bounds[shard][line + 1]
        with open(self.files[shard], "rb") as handle:
            handle.seek(int(start))
            return handle.read(int(stop - start)).decode().rstrip("\n")


def read_record_lines(directory: str | os.PathLike, split: str) -> RecordLines:
    """The JSON lines of one split's records, in :func:`iter_records` order, each shard verified.

    Parsing a million records takes minutes; a training run keeps the lines, read from
    the shards as they are used (:class:`RecordLines`), and parses each task where it
    is used (in its data workers) instead.

    Raises:
        DatasetError: as :func:`iter_records`.
    """
    return RecordLines(directory, split)


def dataset_ids(directory: str | os.PathLike, *, probes: int) -> frozenset[str]:
    """The task ids (behaviour digests) of every split of a finished dataset.

    Raises:
        DatasetError: as :func:`read_manifest`, or the dataset's digests were made with
            other than ``probes`` probe inputs (then they do not compare).
    """
    manifest = read_manifest(directory)
    theirs = manifest["parameters"]["probes"]
    if theirs != probes:
        raise DatasetError(f"{directory}: its behaviour digests use {theirs} probes, not {probes}; they do not compare")
    return frozenset(task.id for split in manifest["counts"] for task in iter_records(directory, split))


def select_tasks(
    directory: str | os.PathLike, split: str, *, lengths: tuple[int, ...], per_length: int,
    exclude: Collection[str] = frozenset(),
) -> list[Task]:
    """The first ``per_length`` records of each program length, in dataset order.

    Args:
        directory: a finished dataset directory.
        split: the split to take records from.
        lengths: the program lengths wanted, in output order.
        per_length: records of each length.
        exclude: task ids (behaviour digests) to pass over, e.g. :func:`dataset_ids` of
            another dataset, so that no task behaves as one of its programs.

    Returns:
        Tasks grouped by length in the order of ``lengths``.

    Raises:
        DatasetError: the split has fewer than ``per_length`` records of some length.
    """
    picked: dict[int, list[Task]] = {L: [] for L in lengths}
    for task in iter_records(directory, split):
        bucket = picked.get(task.extra.get("length"))
        if bucket is not None and len(bucket) < per_length and task.id not in exclude:
            bucket.append(task)
            if all(len(b) == per_length for b in picked.values()):
                break
    short = {L: len(b) for L, b in picked.items() if len(b) < per_length}
    if short:
        raise DatasetError(
            f"{directory}: split {split!r} has too few records of length {short} (need {per_length} each); "
            "generate a larger dataset or ask for fewer"
        )
    return [t for L in lengths for t in picked[L]]

