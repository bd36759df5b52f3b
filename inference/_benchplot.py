"""The bench figure: solve rate against the calls budget, one line per method."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["plot_bench"]


def plot_bench(rows: Sequence[dict], path: str | os.PathLike, *, title: str = "") -> None:
    """Draw the bench table and write it to ``path`` (PNG) atomically.

    One panel for all tasks and, when the rows have a ``by_length`` breakdown, one
    more panel per task length; log x axis (calls), solve rate in [0, 1].

    Args:
        rows: the rows of :func:`~worldmodel.inference.run_bench` (``method``,
            ``budget``, ``solve_rate``, ``by_length``).
        path: the PNG file to write.
        title: the figure's title (default none).
    """
    # The object API with an Agg canvas draws off-screen without touching
    # matplotlib's global backend, so it is safe inside a user's session.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    methods = list(dict.fromkeys(r["method"] for r in rows))
    lengths = list(dict.fromkeys(k for r in rows for k in r.get("by_length", {})))
    first = rows[0] if rows else {}
    panels = [(f"all tasks ({first.get('total', '?')})", None)] + [
        (f"length {k} ({first['by_length'][k].get('total', '?')})", k) for k in lengths
    ]
    columns = min(3, len(panels))
    rows_ = -(-len(panels) // columns)
    height = 2.9 * rows_ + 0.5
    fig = Figure(figsize=(3.4 * columns + 0.6, height))
    FigureCanvasAgg(fig)
    grid = fig.subplots(rows_, columns, sharey=True, squeeze=False).ravel()
    for ax in grid[len(panels) :]:
        ax.set_visible(False)
    axes = grid[: len(panels)]
    for ax, (name, length) in zip(axes, panels):
        for method in methods:
            mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["budget"])
            rates = [
                r["solve_rate"] if length is None else r["by_length"][length]["solve_rate"]
                for r in mine
            ]
            ax.plot([r["budget"] for r in mine], rates, marker="o", label=method)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(name)
        ax.set_xlabel("simulator calls budget")
        ax.grid(True, alpha=0.3)
    for ax in grid[::columns]:
        ax.set_ylabel("solve rate")
    axes[0].legend(loc="upper left", fontsize="small")
    if title:
        fig.suptitle(title)
    # Fixed margins: automatic layout engines cost seconds per figure.
    fig.subplots_adjust(
        left=0.09,
        right=0.98,
        bottom=0.55 / height + 0.02,
        top=1 - (0.75 if title else 0.45) / height,
        wspace=0.08,
        hspace=0.45,
    )
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
