"""The bench table: rows per method × budget from the records, and the table as text."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from worldmodel.datasets import Task

from ._bench_record import BenchRecord

__all__ = ["format_table", "summarise"]


def summarise(records: Iterable[BenchRecord], tasks: Sequence[Task], *, methods: Sequence[str],
              budgets: Sequence[int]) -> list[dict]:
    """The table's rows: one per method × budget, ``method, budget, solved, total,
    solve_rate, median_calls_solved, stopped_by_seconds, by_length`` (and the
    likelihood means of a generative task set)."""
    by_key = {r.key: r for r in records}
    lengths = sorted({t.extra["length"] for t in tasks if isinstance(t.extra.get("length"), int)})
    rows = []
    for method in methods:
        for budget in sorted(budgets):
            results = [by_key[(method, t.id, budget)] for t in tasks]
            solved = [r for r in results if r.verified]
            row = {
                "method": method,
                "budget": budget,
                "solved": len(solved),
                "total": len(results),
                "solve_rate": len(solved) / len(results) if results else 0.0,
                "median_calls_solved": statistics.median(r.calls for r in solved)
                if solved
                else None,
                "stopped_by_seconds": sum(r.stopped_by_seconds for r in results),
                "by_length": {},
            }
            if results and results[0].likelihood is not None:
                row.update(_likelihood_summary(results))
            for length in lengths:
                group = [r for r, t in zip(results, tasks) if t.extra.get("length") == length]
                ok = sum(r.verified for r in group)
                row["by_length"][str(length)] = {
                    "solved": ok,
                    "total": len(group),
                    "solve_rate": ok / len(group),
                }
            rows.append(row)
    return rows


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _likelihood_summary(results: Sequence[BenchRecord]) -> dict:
    """Means over a generative task set: training log-likelihood per string over the
    solved tasks; held-out covered fraction and smoothed log-likelihood per string over
    every task with held-out strings (an unsolved task counts as covering none), and
    log-likelihood per covered string over the tasks that cover some."""
    figures = [r.likelihood for r in results]
    heldout = [f for f in figures if "heldout_covered" in f]
    return {
        "ll_per_string": _mean(f["ll_per_string"] for f in figures),
        **{name: _mean(f[name] for f in heldout) for name in ("heldout_covered", "heldout_ll_covered", "heldout_ll_smoothed")},
    }


def format_table(rows: Sequence[dict]) -> str:
    """The table as text: one line per method × budget, solve rate per length last.

    Example:
        >>> print(format_table([{"method": "enumerate", "budget": 100, "solved": 1, "total": 2,
        ...     "solve_rate": 0.5, "median_calls_solved": 40, "by_length": {"1": {"solve_rate": 1.0}}}]))
        method       budget   solved   rate  median calls  by length
        enumerate       100      1/2  50.0%            40  1:100%
    """
    lines = [
        f"{'method':<10} {'budget':>8} {'solved':>8} {'rate':>6}  {'median calls':>12}  by length"
    ]
    for r in rows:
        median = "-" if r["median_calls_solved"] is None else f"{r['median_calls_solved']:g}"
        lengths = " ".join(f"{k}:{v['solve_rate']:.0%}" for k, v in r["by_length"].items())
        lines.append(
            f"{r['method']:<10} {r['budget']:>8} {r['solved']:>4}/{r['total']:<3} {r['solve_rate']:>6.1%}"
            f"  {median:>12}  {lengths}"
        )
    if any("ll_per_string" in r for r in rows):
        lines += ["", f"{'method':<10} {'budget':>8}  {'train LL/str':>12}  {'held-out covered':>16}  "
                      f"{'LL/covered str':>14}  {'smoothed LL/str':>15}"]

        def cell(value, width, spec=".2f"):
            return f"{'-' if value is None else format(value, spec):>{width}}"

        for r in rows:
            lines.append(f"{r['method']:<10} {r['budget']:>8}  {cell(r.get('ll_per_string'), 12)}  "
                         f"{cell(r.get('heldout_covered'), 16, '.1%')}  {cell(r.get('heldout_ll_covered'), 14)}  "
                         f"{cell(r.get('heldout_ll_smoothed'), 15)}")
    return "\n".join(lines)
