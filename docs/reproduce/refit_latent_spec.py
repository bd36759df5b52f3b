"""Refit the latent space's spec side, ``q(z | x, y)`` and ``E(x, y, z)``, on a frozen autoencoder.

    python docs/reproduce/refit_latent_spec.py --model worldmodel/checkpoints/deepcoder \
        --autoencoder .bench/latent1/model --data data/phi --epochs 20 --out .bench/latent2

``--model`` gives every other head; ``--autoencoder`` a checkpoint whose latent head's
autoencoder (encoder, decoder) is kept as it is. The recognition network and the
energy's critic start afresh on the spec features of ``--model`` and train alone
(``LatentTerm(autoencoder=False)``), the first epoch featurised once and replayed.
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
    kept = {k.removeprefix("latent."): v for k, v in held.items() if k.removeprefix("latent.").split(".")[0] in AUTOENCODER}
    missing, unexpected = head.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.split(".")[0] not in AUTOENCODER for k in missing), (missing, unexpected)
    train = load_tasks(args.data, "train", model.domain, lazy=True)
    valid = load_tasks(args.data, "valid", model.domain, limit=2048)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, only="latent", reuse_batches=True,
                         valid_limit=2048, workers=args.workers, device=args.device, amp=False,
                         checkpoint_every=10**6, seed=0)
    fit(model, train, valid, config, out=args.out, terms=[LatentTerm(autoencoder=False)])
    save_model(model.cpu(), f"{args.out}/model")


if __name__ == "__main__":
    main()
