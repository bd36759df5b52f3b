"""Commands that train and evaluate models: ``train``, ``evaluate``."""

from __future__ import annotations

import click

from ._base import _DOMAIN_OPTION, _THREADS, _domain, _fail, main


@main.command()
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder (DIR/<split>/*.jsonl or a generated dataset).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Run folder; rerun the same command to resume from its last checkpoint.")
@click.option("--train-split", default="train", show_default=True)
@click.option("--valid-split", default="valid", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most this many training tasks.")
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
@click.option("--threads", type=_THREADS, default=None, help="torch CPU threads in the main process (default: torch's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=int, default=500, show_default=True, help="Steps between checkpoints.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps in total.")
@click.option("--time-limit", type=float, default=None, help="Stop (checkpointed, model exported) after this many minutes.")
@click.option("--valid-limit", type=int, default=256, show_default=True, help="Held-out tasks evaluated each epoch.")
@click.option("--policy", is_flag=True, help="Also train the flow policy over edits (model.policy).")
@click.option("--policy-weight", type=float, default=1.0, show_default=True, help="Weight of the policy loss.")
@click.option("--primitive-weight", type=float, default=1.0, show_default=True, help="Weight of the primitive head's loss.")
@click.option("--spec-batch-size", type=int, default=None,
              help="Tasks per step for the spec-only primitive head (>= --batch-size; it sets the epoch).")
@click.option("--dynamics", is_flag=True, help="Also train a dynamics head (neural ODE: forward/reverse queries).")
@click.option("--dynamics-dim", type=int, default=64, show_default=True, help="Slot latent width of a new dynamics head.")
@click.option("--dynamics-layers", type=int, default=1, show_default=True, help="Blocks in the dynamics vector field.")
@click.option("--dynamics-transition", type=click.Choice(["ode", "residual"]), default="ode", show_default=True,
              help="ode: integrate each statement; residual: one step h + F(h) (the ablation).")
@click.option("--dynamics-linear-stream", is_flag=True,
              help="Give a new dynamics head the linear stream (exact numbers where a linear map computes them), "
                   "fitted on the training tasks' traces before training.")
@click.option("--latent", is_flag=True, help="Also train a program latent space (autoencoder, q(z|x,y), E(x,y,z)).")
@click.option("--latent-dim", type=int, default=32, show_default=True, help="Width of a new latent space's z.")
@click.option("--init", "init_path", type=click.Path(), default=None,
              help="Start from this checkpoint's weights (its sizes replace --dim/--token-dim/--no-lookahead).")
@click.option("--primitive-width", type=int, default=None,
              help="Hidden width of the primitive head (default 2 x --dim); with --init, a new width starts that head afresh.")
@click.option("--value-width", type=int, default=None,
              help="Give the model a value head of this hidden width (which values lie on the way to the target).")
@click.option("--only", default=None,
              help="Train only this loss term's head (primitives, values, dynamics or latent); every other weight stays.")
@click.option("--reuse-batches", is_flag=True,
              help="Featurise the first epoch once and replay its batches on the device (spec-only terms, e.g. --only primitives).")
@click.option("--lr-by-time", is_flag=True,
              help="Run the cosine decay over --time-limit rather than over --epochs (it ends when the time does).")
@click.option("--accumulate", type=click.IntRange(min=1, max=10**5), default=1, show_default=True,
              help="Micro-batches (of --batch-size tasks) per step; under torchrun the processes share them.")
@_DOMAIN_OPTION
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(data, out, train_split, valid_split, limit, dim, token_dim, no_lookahead, epochs, batch_size, lr, hard_negatives,
          batch_negatives, chain_length, device, no_amp, workers, threads, seed, checkpoint_every, max_steps,
          time_limit, valid_limit, policy, policy_weight, primitive_weight, spec_batch_size, dynamics,
          dynamics_dim, dynamics_layers, dynamics_transition, dynamics_linear_stream, latent, latent_dim, init_path, primitive_width, value_width, only,
          reuse_batches, lr_by_time, accumulate, domain_name, quiet):
    """Train a world model on DATA; writes OUT/model.safetensors + OUT/model.json.

    Under `torchrun --nproc-per-node N` the N processes share each step's
    --accumulate micro-batches and all-reduce the gradients (NCCL on GPUs, gloo on
    CPUs); rank 0 writes OUT and logs. Rerunning resumes with any number of processes.
    """
    import torch

    from worldmodel import (
        CheckpointError,
        ConfigError,
        DataParallel,
        DynamicsConfig,
        LatentConfig,
        ModelConfig,
        TrainConfig,
        TrainingDataError,
        WorldModel,
        fit,
        load_tasks,
    )

    if threads is not None:
        torch.set_num_threads(threads)
    domain = _domain(domain_name, data=data)
    try:
        model_config = ModelConfig(dim=dim, token_dim=token_dim, lookahead=not no_lookahead, primitive_width=primitive_width,
                                   domain=domain.name)
        config = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, hard_negatives=hard_negatives, batch_negatives=batch_negatives,
            chain_length=chain_length, device=device, amp=not no_amp, workers=workers, seed=seed,
            checkpoint_every=checkpoint_every, max_steps=max_steps, valid_limit=valid_limit,
            time_limit=None if time_limit is None else 60 * time_limit,
            policy_weight=policy_weight, primitive_weight=primitive_weight, spec_batch_size=spec_batch_size,
            only=only, reuse_batches=reuse_batches, lr_by_time=lr_by_time, accumulate=accumulate,
        )
        if device.startswith("cuda") and not torch.cuda.is_available():
            _fail(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        torch.manual_seed(seed)  # the initial weights, so a run is reproducible from its command
        model = WorldModel.load(init_path) if init_path is not None else WorldModel(model_config)
        if model.domain.name != domain.name:
            _fail(f"--init {init_path}: the model is for domain {model.domain.name!r}, the data for {domain.name!r}")
        if primitive_width is not None and model.config.primitive_width != primitive_width:
            model.reset_primitive_head(width=primitive_width)
        if policy and model.policy is None:
            model.attach_policy()
        if value_width is not None and model.config.value_width != value_width:
            model.attach_value_head(width=value_width)
        if dynamics and model.dynamics is None:
            model.attach_dynamics(DynamicsConfig(dim=dynamics_dim, layers=dynamics_layers, transition=dynamics_transition,
                                                 linear_stream=dynamics_linear_stream))
        if latent and model.latent is None:
            model.attach_latent(LatentConfig(latent_dim=latent_dim))
        train_tasks = load_tasks(data, train_split, model.domain, limit=limit, lazy=True)
        valid_tasks = load_tasks(data, valid_split, model.domain, limit=valid_limit)
        parallel = DataParallel.from_environment(device)
        try:
            if parallel.main:
                click.echo(f"{len(train_tasks)} training tasks, {len(valid_tasks)} held-out; "
                           f"{sum(p.numel() for p in model.parameters())} parameters"
                           + (f"; {parallel.world} processes" if parallel.world > 1 else ""), err=True)
            result = fit(model, train_tasks, valid_tasks, config, out=out, progress=not quiet, parallel=parallel)
        finally:
            parallel.close()
    except (ConfigError, TrainingDataError, CheckpointError) as error:
        _fail(str(error))
    if parallel.main:
        click.echo(f"done: {result.steps} steps, {result.epochs} epochs; model at {out}/model.safetensors")


@main.command()
@click.option("--model", "model_path", type=click.Path(), required=True, help="Checkpoint (path with or without .json/.safetensors).")
@click.option("--data", "data", type=click.Path(file_okay=False), required=True, help="Dataset folder.")
@click.option("--split", default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate at most this many tasks.")
@click.option("--neighbour-tasks", type=click.IntRange(min=0), default=None, help="Score all one-edit neighbours for only this many tasks.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=_THREADS, default=None, help="torch CPU threads (default: torch's).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="JSON file for the metrics.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def evaluate(model_path, data, split, limit, neighbour_tasks, seed, threads, out, force):
    """Held-out metrics of a model: energy ordering, solution rank, similarity vs distance."""
    import json

    import torch

    from worldmodel import CheckpointError, TrainingDataError, WorldModel, load_tasks
    from worldmodel import evaluate as run_evaluation
    from worldmodel.datasets import OutputError, atomic_write_text, check_output

    if out is not None:
        base = str(model_path).removesuffix(".json").removesuffix(".safetensors")
        try:
            check_output(out, inputs=[base + ".json", base + ".safetensors", data], force=force)
        except OutputError as error:
            raise click.UsageError(str(error)) from None
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
