"""Pictures of the program latent space: a 2-D map of program latents, and the energy on a slice.

Both draw with matplotlib's object API on an Agg canvas (off-screen, no global
backend) and write the PNG atomically.
"""

from __future__ import annotations

import io
import os
import random

import torch
from worldmodel.datasets import Program, Task, atomic_write_bytes

from ._latent import sample_latent
from ._simulator import verify

__all__ = ["plot_latent_map", "plot_energy_slice"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _write(figure, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def plot_latent_map(model, path: str | os.PathLike, *, programs: int = 2000, seed: int = 0) -> dict:
    """Encode random programs of lengths 1–5, project their latents on their two
    principal axes and colour them by length (a second panel: by last primitive's
    output type). Writes the PNG at ``path``.

    Args:
        model: a :class:`~worldmodel.WorldModel` with a latent space.
        path: the PNG file.
        programs: how many programs (default 2000; drawn without dead code, as Φ's are).
        seed: the programs' seed (default 0).

    Returns:
        ``{"programs": N, "explained": [r1, r2]}``: the share of the latents' variance
        on each drawn axis.
    """
    rng = random.Random(seed)
    domain = model.domain
    drawn = [domain.random_program(rng, 1 + i % 5) for i in range(programs)]
    z = model.encode_programs(drawn)  # (N, L)
    centred = z - z.mean(0)
    _, singular, axes = torch.linalg.svd(centred, full_matrices=False)
    xy = (centred @ axes[:2].T).numpy()  # (N, 2)
    explained = (singular[:2] ** 2 / (singular**2).sum()).tolist()
    lengths = [len(p) for p in drawn]
    returns_list = [domain.primitives[p.statements[-1].primitive].return_type.value == "[int]" for p in drawn]
    figure = _figure(10.5, 4.4)
    left, right = figure.subplots(1, 2)
    points = left.scatter(xy[:, 0], xy[:, 1], c=lengths, cmap="viridis", s=6, alpha=0.8)
    figure.colorbar(points, ax=left, label="program length (statements)", ticks=range(1, 6))
    for flag, colour, label in ((True, "tab:blue", "output is a list"), (False, "tab:orange", "output is an int")):
        chosen = [i for i, r in enumerate(returns_list) if r is flag]
        right.scatter(xy[chosen, 0], xy[chosen, 1], s=6, alpha=0.7, c=colour, label=label)
    right.legend(loc="best", markerscale=3)
    for axis in (left, right):
        axis.set_xlabel(f"latent principal axis 1 ({explained[0]:.0%} of variance)")
        axis.set_ylabel(f"latent principal axis 2 ({explained[1]:.0%} of variance)")
    left.set_title(f"{programs} random programs' latents, by length")
    right.set_title("the same latents, by output type")
    _write(figure, path)
    return {"programs": programs, "explained": explained}


def plot_energy_slice(
    model,
    task: Task,
    solution: Program,
    path: str | os.PathLike,
    *,
    draws: int = 150,
    resolution: int = 60,
    seed: int = 0,
) -> dict:
    """The latent potential ``U(z)`` on the plane through the solution's latent ``z*``,
    the mean of ``q(z | x, y)`` and a third point, with NUTS's path from ``q``'s mean
    projected on it. Writes the PNG at ``path``.

    The plane's axes: ``e1`` from ``z*`` towards ``q``'s mean, ``e2`` orthogonal to it
    towards the chain's mean. Marked: the solution (star), ``q``'s mean (square), the
    chain's draws (dots, filled where their likeliest decoded program solves the task).

    Args:
        model: a :class:`~worldmodel.WorldModel` with a latent space.
        task: the examples.
        solution: a program that solves them.
        path: the PNG file.
        draws: NUTS draws after 50 warm-up steps (default 150).
        resolution: grid points per axis (default 60).
        seed: the chain's seed (default 0).

    Returns:
        ``{"solution_energy", "q_mean_energy", "solving_draws"}``.
    """
    potential = model.latent_potential(task)
    z_star = model.encode_programs([solution])[0]
    q = model.recognize(task)
    chain = sample_latent(potential, q.loc, num_samples=draws, warmup_steps=50, kernel="nuts", seed=seed,
                          max_tree_depth=6).samples  # (S, L)
    e1 = q.loc - z_star
    span = float(e1.norm())
    e1 = e1 / span
    towards = chain.mean(0) - z_star
    e2 = towards - (towards @ e1) * e1
    e2 = e2 / e2.norm().clamp(min=1e-9)
    path_xy = torch.stack([(chain - z_star) @ e1, (chain - z_star) @ e2], -1)
    reach = max(1.5 * span, float(path_xy.abs().max()) * 1.1, 1.0)
    grid = torch.linspace(-reach, reach, resolution)
    a, b = torch.meshgrid(grid, grid, indexing="xy")
    plane = z_star + a.reshape(-1, 1) * e1 + b.reshape(-1, 1) * e2  # (R*R, L)
    with torch.no_grad():
        energy = potential(plane).reshape(resolution, resolution)
    decoded = model.decode(chain, k=1, input_types=task.input_types)
    solving = [bool(group) and verify(group[0].program, task, model.domain) for group in decoded]
    figure = _figure(6.4, 5.4)
    axis = figure.subplots()
    image = axis.contourf(a.numpy(), b.numpy(), energy.numpy(), levels=30, cmap="magma_r")
    figure.colorbar(image, ax=axis, label="U(z) = ½‖z‖² + E(x, y, z)")
    xy = path_xy.numpy()
    axis.plot(xy[:, 0], xy[:, 1], "-", color="white", lw=0.6, alpha=0.7)
    hit = [i for i, s in enumerate(solving) if s]
    miss = [i for i, s in enumerate(solving) if not s]
    axis.scatter(xy[miss, 0], xy[miss, 1], s=10, facecolors="none", edgecolors="cyan", label="NUTS draw (projected on the plane)")
    if hit:
        axis.scatter(xy[hit, 0], xy[hit, 1], s=12, c="lime", label="NUTS draw that decodes to a solution")
    axis.scatter([0], [0], marker="*", s=260, c="gold", edgecolors="black", label="solution z*", zorder=5)
    axis.scatter([span], [0], marker="s", s=80, c="deepskyblue", edgecolors="black", label="mean of q(z | x, y)", zorder=5)
    axis.set_xlabel("e1: from z* towards q's mean")
    axis.set_ylabel("e2: orthogonal, towards the chain's mean")
    axis.set_title(f"latent potential on a slice through the solution of {task.id}")
    axis.legend(loc="lower left", fontsize=7, framealpha=0.8)
    _write(figure, path)
    with torch.no_grad():
        ends = potential(torch.stack([z_star, q.loc])).tolist()
    return {"solution_energy": ends[0], "q_mean_energy": ends[1], "solving_draws": sum(solving)}
