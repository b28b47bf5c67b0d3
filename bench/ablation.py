"""Which phase of the semi-supervised AAE makes the unlabelled images useful? An ablation.

Notebook 06 trains its quick semi-supervised AAE (recipe ``ssaae-1000-quick``: paper-size
networks, 1,000 labels among 50,000 images, 3 epochs) and finds a lower test error than the
same encoder trained on the labelled images alone. The paper credits the categorical
discriminator (Section 5). This script trains the same recipe, from the same seed, with phases
switched off through ``fit(phases=...)``, so that only that switch differs between runs:

- ``full``: reconstruction, both discriminators and the generator, classification (the recipe);
- ``no-categorical``: the categorical discriminator :math:`D_y` and its generator term removed,
  the style discriminator :math:`D_z` kept;
- ``no-adversarial``: reconstruction and classification only (no :math:`D_y`, no :math:`D_z`);
- ``labels-only``: classification only: the unlabelled images are never used.

One JSON per variant and seed, ``bench/results/ablation-ssaae-1000-quick-<variant>-seed<s>.json``,
with the test error after every epoch. The variants of one seed share the initial weights, the
labelled set, the order of the mini-batches and the prior samples (the engine draws those from
its own generator); the dropout masks and input noise differ once a phase that runs the encoder
is switched off.

    python bench/ablation.py                                  # all four, seed 0
    python bench/ablation.py --variants full no-adversarial --seed 1 --threads 1
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from aae_utils.config import get_device
from aae_utils.data import load_mnist
from aae_utils.engine import fit
from aae_utils.losses import discriminator_accuracy, discriminator_loss, generator_loss
from aae_utils.metrics import error_rate
from aae_utils.models import build_model
from aae_utils.phases import frozen
from aae_utils.recipes import SEMI_TRAIN_SIZE, recipe
from aae_utils.writes import save_record

RECIPE = "ssaae-1000-quick"


def _nothing(*args, **kwargs):
    """A phase switched off: no step, a loss of 0."""
    return torch.zeros(())


def _no_discriminator(model, x, y_prior, z_prior, opt):
    """Phase 2a switched off: no step, a loss of 0, accuracies of 0.5 (nothing told apart)."""
    half = torch.full((), 0.5)
    return torch.zeros(()), half, half


def _style_discriminator_only(model, x, y_prior, z_prior, opt):
    """Phase 2a with the style discriminator alone (the categorical term removed)."""
    with torch.no_grad():
        z = model.encoder(x)[1]
    real, fake = model.style_discriminator(z_prior), model.style_discriminator(z)
    loss = discriminator_loss(real, fake)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach(), torch.full((), 0.5), discriminator_accuracy(real, fake)


def _style_generator_only(model, x, opt):
    """Phase 2b with the style term alone: the encoder's z is pushed toward N(0, I), q(y|x) is not."""
    with frozen(model.style_discriminator):
        loss = generator_loss(model.style_discriminator(model.encoder(x)[1]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.detach()


VARIANTS = {
    "full": {},
    "no-categorical": {"discriminator": _style_discriminator_only, "generator": _style_generator_only},
    "no-adversarial": {"discriminator": _no_discriminator, "generator": _nothing},
    "labels-only": {"reconstruction": _nothing, "discriminator": _no_discriminator, "generator": _nothing},
}


def run(variant: str, seed: int, device, epochs: int | None = None, n_train: int | None = None) -> dict:
    r = recipe(RECIPE, fast=False)
    r = replace(r, train=replace(r.train, seed=seed, epochs=epochs or r.train.epochs),
                n_train=n_train or r.n_train)
    full = load_mnist(train=True, device=device)
    train = full.subset(slice(0, min(r.n_train, SEMI_TRAIN_SIZE)))
    test = load_mnist(train=False, device=device)
    labels = r.labels_for(train)  # drawn with the training seed, as the recipe does
    torch.manual_seed(seed)
    model = build_model(**r.model).to(device)

    def callback(epoch, m):
        return {"test_error": error_rate(m.classify(test.x), test.y)}

    start = time.perf_counter()
    # A switched-off phase never steps its optimiser, and its learning-rate schedule says so.
    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step()`")
    history = fit(model, train, r.train, labels=labels, phases=VARIANTS[variant] or None,
                  callback=callback, progress=False)
    return {
        "benchmark": "ablation", "recipe": RECIPE, "variant": variant, "seed": seed,
        "phases_switched_off": sorted(VARIANTS[variant]), "device": str(device),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "python": platform.python_version(), "epochs": r.train.epochs, "n_train": len(train),
        "labelled": int((labels >= 0).sum()), "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - start, 1),
        "final_test_error": history["test_error"][-1],
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--images", type=int, default=None, help="training images (default: the recipe's)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: automatic)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    for name, value in (("--epochs", args.epochs), ("--images", args.images)):
        if value is not None and value < 1:
            parser.error(f"{name} must be at least 1, got {value}")
    device = get_device(args.device)
    unwritten = 0
    for variant in args.variants:
        print(f"{variant}, seed {args.seed} ...", flush=True)
        result = run(variant, args.seed, device, epochs=args.epochs, n_train=args.images)
        path = args.out / f"ablation-{RECIPE}-{variant}-seed{args.seed}.json"
        written = save_record(path, result)  # if not, it is printed: the run is never lost
        unwritten += not written
        print(f"{variant}: test error {result['final_test_error']:.2%} after {result['epochs']} epochs "
              f"({result['seconds']:.0f} s)" + (f"; wrote {path}" if written else ""), flush=True)
    return 1 if unwritten else 0


if __name__ == "__main__":
    sys.exit(main())
