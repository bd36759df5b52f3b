"""The ``worldmodel`` command line: a thin wrapper over the library functions."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worldmodel")
def main() -> None:
    """Learn world models of programs and use them to find programs from examples."""


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@main.command()
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder (DIR/<split>/*.jsonl or a generated dataset).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Run folder; rerun the same command to resume from its last checkpoint.")
@click.option("--train-split", default="train", show_default=True)
@click.option("--valid-split", default="valid", show_default=True)
@click.option("--limit", type=int, default=None, help="Use at most this many training tasks.")
@click.option("--dim", type=int, default=128, show_default=True, help="Latent width D.")
@click.option("--token-dim", type=int, default=64, show_default=True, help="Token embedding width.")
@click.option("--no-lookahead", is_flag=True, help="Leave out the one-step look-ahead execution feature.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True, help="Tasks per step.")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--hard-negatives", type=int, default=6, show_default=True)
@click.option("--batch-negatives", type=int, default=4, show_default=True)
@click.option("--chain-length", type=int, default=4, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--no-amp", is_flag=True, help="No bf16 autocast on GPU.")
@click.option("--workers", type=int, default=0, show_default=True, help="Data worker processes.")
@click.option("--threads", type=int, default=None, help="torch CPU threads in the main process (default: torch's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=int, default=500, show_default=True, help="Steps between checkpoints.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps in total.")
@click.option("--time-limit", type=float, default=None, help="Stop (checkpointed, model exported) after this many minutes.")
@click.option("--valid-limit", type=int, default=256, show_default=True, help="Held-out tasks evaluated each epoch.")
@click.option("--policy", is_flag=True, help="Also train the flow policy over edits (model.policy).")
@click.option("--policy-weight", type=float, default=1.0, show_default=True, help="Weight of the policy loss.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(data, out, train_split, valid_split, limit, dim, token_dim, no_lookahead, epochs, batch_size, lr, hard_negatives,
          batch_negatives, chain_length, device, no_amp, workers, threads, seed, checkpoint_every, max_steps,
          time_limit, valid_limit, policy, policy_weight, quiet):
    """Train a world model on DATA; writes OUT/model.safetensors + OUT/model.json."""
    import torch

    from worldmodel import (
        CheckpointError,
        ConfigError,
        ModelConfig,
        TrainConfig,
        TrainingDataError,
        WorldModel,
        fit,
        load_tasks,
    )

    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model_config = ModelConfig(dim=dim, token_dim=token_dim, lookahead=not no_lookahead)
        config = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, hard_negatives=hard_negatives, batch_negatives=batch_negatives,
            chain_length=chain_length, device=device, amp=not no_amp, workers=workers, seed=seed,
            checkpoint_every=checkpoint_every, max_steps=max_steps, valid_limit=valid_limit,
            time_limit=None if time_limit is None else 60 * time_limit,
            policy_weight=policy_weight,
        )
        if device.startswith("cuda") and not torch.cuda.is_available():
            _fail(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        torch.manual_seed(seed)  # the initial weights, so a run is reproducible from its command
        model = WorldModel(model_config)
        if policy:
            model.attach_policy()
        train_tasks = load_tasks(data, train_split, model.domain, limit=limit)
        valid_tasks = load_tasks(data, valid_split, model.domain, limit=valid_limit)
        click.echo(f"{len(train_tasks)} training tasks, {len(valid_tasks)} held-out; "
                   f"{sum(p.numel() for p in model.parameters())} parameters", err=True)
        result = fit(model, train_tasks, valid_tasks, config, out=out, progress=not quiet)
    except (ConfigError, TrainingDataError, CheckpointError) as error:
        _fail(str(error))
    click.echo(f"done: {result.steps} steps, {result.epochs} epochs; model at {out}/model.safetensors")


@main.command()
@click.option("--model", "model_path", type=click.Path(), required=True, help="Checkpoint (path with or without .json/.safetensors).")
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder.")
@click.option("--split", default="test", show_default=True)
@click.option("--limit", type=int, default=None, help="Evaluate at most this many tasks.")
@click.option("--neighbour-tasks", type=int, default=None, help="Score all one-edit neighbours for only this many tasks.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="JSON file for the metrics.")
def evaluate(model_path, data, split, limit, neighbour_tasks, seed, threads, out):
    """Held-out metrics of a model: energy ordering, solution rank, similarity vs distance."""
    import json

    import torch

    from worldmodel import CheckpointError, TrainingDataError, WorldModel, load_tasks
    from worldmodel import evaluate as run_evaluation
    from worldmodel.datasets import atomic_write_text

    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model = WorldModel.load(model_path)
        tasks = load_tasks(data, split, model.domain, limit=limit)
    except (CheckpointError, TrainingDataError) as error:
        _fail(str(error))
    result = run_evaluation(model, tasks, seed=seed, neighbour_tasks=neighbour_tasks)
    text = json.dumps({"model": str(model_path), "data": str(data), "split": split, **result.to_dict()}, indent=2)
    click.echo(text)
    if out is not None:
        atomic_write_text(out, text + "\n")
