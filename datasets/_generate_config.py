"""What a ``generate`` run is asked for and what it reports: :class:`GenerateConfig`
(validated before anything runs), :class:`GenerateResult`, and the ``--splits`` parser."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ._domain import INPUT_DISTRIBUTIONS, InputConfig
from ._errors import ConfigError
from ._registry import DOMAINS
from ._validation import require_at_least, require_fraction

__all__ = ["OWN_INPUTS", "GenerateConfig", "GenerateResult", "parse_splits"]

OWN_INPUTS = "domain"
"""The name, in ``GenerateConfig.inputs``, of the domain's own input distribution."""


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that determines a dataset's bytes (the worker count does not).

    Attributes:
        count: records to write over all splits and lengths.
        domain: the domain's name in ``worldmodel.datasets.DOMAINS`` (default "deepcoder").
        min_length: shortest program, in statements (default 1).
        max_length: longest program (default 5).
        examples: examples per record, from ``Domain.random_examples`` (default 5); the
            most examples when ``min_examples`` is set.
        min_examples: fewest examples per record (default ``None``: exactly
            ``examples``); each record draws its count uniformly in between.
        inputs: names of the input distributions: ``"domain"``, the domain's own
            (``Domain.inputs``), or keys of :data:`INPUT_DISTRIBUTIONS`; each record draws
            one uniformly (default ``("domain",)``; DeepCoder's own is ``"exedec"``).
        seed: the dataset's seed (default 0).
        splits: ``(name, fraction)`` pairs; fractions sum to 1
            (default train 0.9, valid 0.05, test 0.05).
        shard_size: records per shard file (default 10000).
        block_size: candidate programs per unit of work (default 256).
        probes: probe inputs per input signature for behaviour signatures (default 16).
        example_tries: ``max_tries`` per example for ``random_examples`` (default 20).
        min_yield: a length counts as exhausted when the last ``window`` blocks gave
            fewer new records than this fraction of their candidates (default 0.01);
            its unused quota passes to the longer lengths.
        window: blocks in that window (default 16).
        motifs: ``0`` (the default) draws each statement independently; ``K > 0`` draws
            programs chained from a bank of ``K`` motifs (:func:`motif_program`, the bank
            :func:`motif_bank` of the seed): a shifted distribution with recurring idioms.
        motif_rate: with ``motifs``, how often a piece is a motif rather than one
            statement (default 0.75).
    """

    count: int
    domain: str = "deepcoder"
    min_length: int = 1
    max_length: int = 5
    examples: int = 5
    min_examples: int | None = None
    inputs: tuple[str, ...] = (OWN_INPUTS,)
    seed: int = 0
    splits: tuple[tuple[str, float], ...] = (("train", 0.9), ("valid", 0.05), ("test", 0.05))
    shard_size: int = 10000
    block_size: int = 256
    probes: int = 16
    example_tries: int = 20
    min_yield: float = 0.01
    window: int = 16
    motifs: int = 0
    motif_rate: float = 0.75

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ConfigError(f"GenerateConfig.domain {self.domain!r} is unknown; choose one of {sorted(DOMAINS)}")
        require_at_least(self, 1, "count", "min_length", "examples", "shard_size", "block_size", "probes",
                         "example_tries", "window")
        if self.min_examples is not None and not 1 <= self.min_examples <= self.examples:
            raise ConfigError(f"GenerateConfig.min_examples must be in [1, examples={self.examples}] or None, "
                              f"got {self.min_examples}")
        unknown = [name for name in self.inputs if name != OWN_INPUTS and name not in INPUT_DISTRIBUTIONS]
        if not self.inputs or unknown:
            raise ConfigError(f"GenerateConfig.inputs must name input distributions among "
                              f"{[OWN_INPUTS, *sorted(INPUT_DISTRIBUTIONS)]}, got {list(self.inputs)}")
        if self.max_length < self.min_length:
            raise ConfigError(f"GenerateConfig.max_length {self.max_length} < min_length {self.min_length}; "
                              "raise max_length or lower min_length")
        if not self.splits:
            raise ConfigError("GenerateConfig.splits is empty; give at least one split, e.g. train=1")
        names = [n for n, _ in self.splits]
        if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
            raise ConfigError(f"GenerateConfig.splits: split names must be distinct identifiers, got {names}")
        if any(f < 0 for _, f in self.splits) or abs(sum(f for _, f in self.splits) - 1) > 1e-9:
            raise ConfigError(f"GenerateConfig.splits: fractions must be >= 0 and sum to 1, got {dict(self.splits)}")
        # min_yield > 0 guarantees that an exhausted length ends the loop.
        require_fraction(self, "min_yield", open_low=True, open_high=True)
        require_at_least(self, 0, "motifs")
        require_fraction(self, "motif_rate")

    def parameters(self) -> dict:
        """The parameters as JSON data (what the manifest records and reruns must match)."""
        data = asdict(self)
        data["splits"] = {n: f for n, f in self.splits}
        data["inputs"] = list(self.inputs)
        # A dataset made before these options existed has the defaults' bytes; its
        # manifest leaves them out, so it still matches.
        if self.min_examples is None:
            del data["min_examples"]
        if self.input_configs() == (self.own_inputs(),):  # one name for the same draws
            del data["inputs"]
        if not self.motifs:
            del data["motifs"], data["motif_rate"]
        return data

    def own_inputs(self) -> InputConfig:
        """The domain's own input distribution."""
        return DOMAINS[self.domain].inputs

    def input_configs(self) -> tuple[InputConfig, ...]:
        """The input distributions ``inputs`` names, in order."""
        return tuple(self.own_inputs() if name == OWN_INPUTS else INPUT_DISTRIBUTIONS[name] for name in self.inputs)


@dataclass(frozen=True)
class GenerateResult:
    """What a :func:`generate` call did.

    Attributes:
        directory: the dataset directory.
        manifest: the manifest written (or found).
        records: records in the dataset.
        seconds: wall time of this call.
        resumed: whether it continued an interrupted run.
        already_complete: whether the dataset was complete and only verified.
    """

    directory: Path
    manifest: dict
    records: int
    seconds: float
    resumed: bool = False
    already_complete: bool = False


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """Parse ``"train=0.9,valid=0.05,test=0.05"``.

    Example:
        >>> parse_splits("train=0.9, test=0.1")
        (('train', 0.9), ('test', 0.1))
    """
    pairs = []
    for part in text.split(","):
        name, eq, value = part.strip().partition("=")
        try:
            pairs.append((name.strip(), float(value)))
        except ValueError:
            raise ValueError(f"bad split {part.strip()!r}: expected name=fraction, e.g. test=0.05") from None
        if not eq:
            raise ValueError(f"bad split {part.strip()!r}: expected name=fraction, e.g. test=0.05")
    return tuple(pairs)
