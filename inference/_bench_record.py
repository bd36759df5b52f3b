"""One bench result: a (method, task, budget) run, as a record and as a line of ``results.jsonl``.

A record read back from the file is checked field by field (:meth:`BenchRecord.from_json`);
a line that fails the check (cut short by a kill, or damaged) is simply run again. An
anytime method's record at one budget can be read off its records at others, where
that is exact (:func:`derive`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchRecord", "derive", "read_results", "throughput", "LIKELIHOOD_FIELDS"]

LIKELIHOOD_FIELDS = ("ll_per_string", "heldout_covered", "heldout_ll_covered", "heldout_ll_smoothed")
"""The figures of a generative task's record: training log-likelihood per string, and
for a task with held-out strings the covered fraction, log-likelihood per covered
string and smoothed log-likelihood per string."""


@dataclass(frozen=True)
class BenchRecord:
    """The result of one method on one task at one calls budget.

    Attributes:
        method, task, budget: what ran.
        length: the task's ``length`` field, if it has one.
        verified: the exact interpreter reproduced the task with ``program``.
        calls, seconds: what the run spent (``None`` for an unsolved result read off
            a larger run, whose spend at this budget is not known exactly).
        program: the answer, formatted, when verified.
        derived: read off a run at another budget rather than run.
        stopped_by_seconds: the seconds limit, not the calls, ended the run.
        likelihood: a generative task's figures (keys of :data:`LIKELIHOOD_FIELDS`,
            ``None`` when not computed); ``None`` for input/output tasks.
    """

    method: str
    task: str
    budget: int
    length: int | None
    verified: bool
    calls: int | None
    seconds: float | None
    program: str | None
    derived: bool
    stopped_by_seconds: bool
    likelihood: dict | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return self.method, self.task, self.budget

    def to_json(self) -> dict:
        """The line's object: the fields in order, the likelihood figures flattened in."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "likelihood"}
        return record | (self.likelihood or {})

    @classmethod
    def from_json(cls, record: object) -> BenchRecord | None:
        """The record a decoded line holds, or ``None`` when it lacks a field or has a wrong type."""
        if not isinstance(record, dict):
            return None
        calls, seconds, program = record.get("calls"), record.get("seconds"), record.get("program")
        valid = (
            isinstance(record.get("method"), str)
            and isinstance(record.get("task"), str)
            and type(record.get("budget")) is int
            and all(type(record.get(k)) is bool for k in ("verified", "derived", "stopped_by_seconds"))
            and (calls is None or type(calls) is int)
            and (seconds is None or type(seconds) in (int, float))
            and (program is None or isinstance(program, str))
            and (not record["verified"] or (type(calls) is int and isinstance(program, str)))
        )
        if not valid:
            return None
        likelihood = {k: record[k] for k in LIKELIHOOD_FIELDS if k in record} or None
        return cls(record["method"], record["task"], record["budget"], record.get("length"), record["verified"],
                   calls, seconds, program, record["derived"], record["stopped_by_seconds"], likelihood)

    def line(self) -> str:
        """The ``results.jsonl`` line, newline included."""
        return json.dumps(self.to_json()) + "\n"


def derive(records: Sequence[BenchRecord], budget: int) -> BenchRecord | None:
    """An anytime method's result at ``budget`` read off its results at other budgets,
    where that is exact: solved within C calls means solved at every budget >= C and
    unsolved below; unsolved at B' by calls alone means unsolved at every budget <= B'."""
    for record in records:
        if record.verified:
            solved = record.calls <= budget
            return dataclasses.replace(
                record, budget=budget, verified=solved, calls=record.calls if solved else None,
                seconds=record.seconds if solved else None, program=record.program if solved else None,
                derived=True, stopped_by_seconds=False,
            )
    for record in records:
        if record.budget >= budget and not record.stopped_by_seconds:
            return dataclasses.replace(record, budget=budget, calls=None, seconds=None, derived=True)
    return None


def throughput(records: Sequence[BenchRecord]) -> float | None:
    """Simulator calls per wall-clock second over the records that were run (not derived)."""
    runs = [r for r in records if not r.derived and r.calls is not None and r.seconds]
    seconds = sum(r.seconds for r in runs)
    return sum(r.calls for r in runs) / seconds if seconds > 0 else None


def read_results(path: Path) -> tuple[dict[tuple, BenchRecord], bool]:
    """Results by (method, task, budget), first one kept; and whether a line was bad
    (cut short by a kill, or damaged: that run is simply redone)."""
    done: dict[tuple, BenchRecord] = {}
    bad = False
    if not path.exists():
        return done, bad
    with open(path, "rb") as handle:
        for line in handle:
            try:
                decoded = json.loads(line.decode("utf-8"))
            except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too big a number
                decoded = None
            record = BenchRecord.from_json(decoded)
            if record is None:
                bad = True
                continue
            done.setdefault(record.key, record)
    return done, bad
