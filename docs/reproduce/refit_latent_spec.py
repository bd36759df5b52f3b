"""Refit the latent space's spec side, ``q(z | x, y)`` and ``E(x, y, z)``, on a frozen autoencoder.

    python docs/reproduce/refit_latent_spec.py --model worldmodel/checkpoints/deepcoder \
        --autoencoder .bench/latent1/model --data data/phi --epochs 20 --out .bench/latent2

``--model`` gives every other head; ``--autoencoder`` a checkpoint whose latent head's
autoencoder (encoder, decoder) is kept as it is. The recognition network and the
energy's critic start afresh on the spec features of ``--model`` (or, with
``--keep-spec``, from ``--model``'s own) and train alone
(``LatentTerm(autoencoder=False)``), the first epoch featurised once and replayed.
``--decoding-weight`` adds the loss that ``q``'s draws decode to the task's program.

    python docs/reproduce/refit_latent_spec.py --model worldmodel/checkpoints/deepcoder \
        --autoencoder worldmodel/checkpoints/deepcoder --keep-spec --decoding-weight 1 \
        --data data/phi --epochs 8 --out .bench/latent3
"""

import argparse

import torch
from safetensors.torch import load_file

from worldmodel import (
    LatentConfig,
    LatentTerm,
    TrainConfig,
    WorldModel,
    fit,
    load_tasks,
    save_model,
)
from worldmodel._checkpoint import _base, _sibling

AUTOENCODER = ("embed", "encoder", "posterior", "decoder_start", "decoder", "logits")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--autoencoder", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--keep-spec", action="store_true")
    parser.add_argument("--decoding-weight", type=float, default=0.0)
    parser.add_argument("--time-limit", type=float, default=None, help="minutes of training")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = WorldModel.load(args.model)
    held = load_file(_sibling(_base(args.autoencoder), ".safetensors"))
    latent_dim = held["latent.posterior.bias"].shape[0] // 2
    head = model.attach_latent(LatentConfig(latent_dim=latent_dim))
    if args.keep_spec:
        held |= {k: v for k, v in load_file(_sibling(_base(args.model), ".safetensors")).items()
                 if k.startswith("latent.") and k.removeprefix("latent.").split(".")[0] not in AUTOENCODER}
    kept = {k.removeprefix("latent."): v for k, v in held.items() if k.startswith("latent.")
            and (args.keep_spec or k.removeprefix("latent.").split(".")[0] in AUTOENCODER)}
    missing, unexpected = head.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.split(".")[0] not in AUTOENCODER for k in missing), (missing, unexpected)
    assert not (args.keep_spec and missing), missing
    train = load_tasks(args.data, "train", model.domain, lazy=True)
    valid = load_tasks(args.data, "valid", model.domain, limit=2048)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, only="latent", reuse_batches=True,
                         valid_limit=2048, workers=args.workers, device=args.device, amp=False,
                         checkpoint_every=10**6, seed=0,
                         time_limit=None if args.time_limit is None else 60 * args.time_limit)
    fit(model, train, valid, config, out=args.out,
        terms=[LatentTerm(autoencoder=False, decoding_weight=args.decoding_weight)])
    save_model(model.cpu(), f"{args.out}/model")


if __name__ == "__main__":
    main()
