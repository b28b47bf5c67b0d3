"""The course's named models: one place for the settings that several notebooks share.

Notebook 02 trains ``vae-2d`` and notebook 03 compares it with ``aae-2d``; both must mean the
same model, and both reuse the same cached checkpoint. A recipe fixes the architecture, the
training settings, the prior and the amount of data, in default mode and in fast mode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import Tensor, nn

from .config import is_fast
from .data import ImageData, balanced_subset
from .priors import Prior, make_prior
from .train import History, TrainConfig, fit, load_or_train

#: Hidden widths for the course's 2-D models: the paper's 1000-1000 costs about 3x more time
#: per epoch on a CPU and draws no visibly different 2-D code space.
COURSE_HIDDEN = [512, 512]

#: Fast mode (AAE_FAST=1): the same networks, trained on this many images for this many epochs.
FAST_TRAIN_SIZE = 2000
FAST_EPOCHS = 2
FAST_LABELLED_PER_CLASS = 30

#: Notebooks 01-03 train the AE, the VAE and the AAE with the same optimiser and schedule, so
#: differences come from the objective. Adam at 1e-3 decayed linearly to 5% lets the AAE's
#: adversarial game settle; at a constant rate its match to the prior swings from epoch to epoch.
PART1_TRAIN = TrainConfig(epochs=12, lr=1e-3, lr_decay=0.05)

#: Notebook 04 trains five AAEs; narrower networks keep it to a few minutes on a CPU.
PRIORS_HIDDEN = [256, 256]
PRIORS_TRAIN = TrainConfig(epochs=10, lr=1e-3, lr_decay=0.05)


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained model, so its checkpoint can be reused."""

    name: str
    model: dict
    train: TrainConfig
    prior: dict | None = None
    n_train: int | None = None  # None: all 60,000 training images
    all_labels: bool = False  # every image's label goes to the discriminator
    labelled_per_class: int | None = None  # or only this many per digit; the others get -1

    @property
    def config(self) -> dict:
        """The dict :func:`~aae_utils.train.load_or_train` compares with the checkpoint's."""
        return {
            "dataset": "mnist",
            "n_train": self.n_train,
            "all_labels": self.all_labels,
            "labelled_per_class": self.labelled_per_class,
            "model": self.model,
            "prior": self.prior,
            "train": self.train.to_dict(),
            "seed": self.train.seed,
        }

    def make_prior(self) -> Prior | None:
        if self.prior is None:
            return None
        spec = dict(self.prior)
        return make_prior(spec.pop("name"), **spec)

    def labels_for(self, data: ImageData) -> Tensor | None:
        """Labels for the discriminator: all of them, or ``labelled_per_class`` per digit and
        -1 ("no label") for the rest; None when the recipe uses no labels."""
        if self.all_labels:
            return data.y
        if self.labelled_per_class is None:
            return None
        keep = balanced_subset(data.y, self.labelled_per_class, seed=self.train.seed).to(data.y.device)
        labels = data.y.new_full(data.y.shape, -1)
        labels[keep] = data.y[keep]
        return labels

    def describe(self) -> str:
        """One line of settings, for a notebook to print next to its figures."""
        t = self.train
        prior = "" if self.prior is None else f", prior {self.prior}"
        data = "all 60,000" if self.n_train is None else f"{self.n_train:,}"
        if self.all_labels:
            data += " (all labelled)"
        elif self.labelled_per_class is not None:
            data += f" ({10 * self.labelled_per_class:,} of them labelled)"
        noise = self.model.get("input_noise", 0.0)
        if noise:
            prior += f", noise std {noise:g} on the discriminator's input"
        hidden = "-".join(str(h) for h in self.model.get("hidden", []))
        return (
            f"{self.name}: {self.model['kind'].upper()}, 784-{hidden}-{self.model['latent_dim']}"
            f"{prior}; {t.epochs} epochs on {data} MNIST images, batch {t.batch_size}, "
            f"{t.optimizer} lr {t.lr:g}"
            + (f" decayed to {t.lr * t.lr_decay:g}" if t.lr_decay != 1 else "")
            + f", seed {t.seed}"
        )


def _base(name: str) -> Recipe:
    two_d = {"latent_dim": 2, "hidden": COURSE_HIDDEN}
    recipes = {
        "ae-2d": Recipe("ae-2d", {"kind": "ae", **two_d}, PART1_TRAIN),
        "vae-2d": Recipe("vae-2d", {"kind": "vae", **two_d}, PART1_TRAIN),  # N(0, I) via the KL
        "aae-2d": Recipe(  # the same N(0, I), matched by a discriminator
            "aae-2d", {"kind": "aae", **two_d}, PART1_TRAIN,
            prior={"name": "gaussian", "dim": 2, "std": 1.0},
        ),
    }
    small = {"latent_dim": 2, "hidden": PRIORS_HIDDEN}
    labelled = {**small, "disc_cond_dim": 11}  # 10 digits + a "no label" slot
    mixture = {"name": "mixture", "num_components": 10}
    # A little thickness (std 0.15 across the curve): on a zero-width curve the discriminator
    # wins outright and the codes stay a blob (measured: histogram distance 0.46 vs 0.24).
    roll = {"name": "swiss_roll", "num_classes": 10, "noise": 0.15}
    for prior_name, prior in (("mixture", mixture), ("swiss-roll", roll)):
        recipes[f"aae-{prior_name}"] = Recipe(  # no labels
            f"aae-{prior_name}", {"kind": "aae", **small}, PRIORS_TRAIN, prior=prior,
        )
        recipes[f"aae-{prior_name}-labels"] = Recipe(  # the discriminator sees every label
            f"aae-{prior_name}-labels", {"kind": "aae", **labelled}, PRIORS_TRAIN,
            prior=prior, all_labels=True,
        )
    recipes["aae-mixture-partial-labels"] = Recipe(  # the paper's figure: 10,000 labels
        "aae-mixture-partial-labels", {"kind": "aae", **labelled}, PRIORS_TRAIN, prior=mixture,
        labelled_per_class=1000,
    )
    if name not in recipes:
        raise ValueError(f"unknown recipe {name!r}; choose one of {sorted(recipes)}")
    return recipes[name]


def recipe(name: str, fast: bool | None = None) -> Recipe:
    """The recipe ``name``; in fast mode, the same networks on a small subset for few epochs."""
    r = _base(name)
    if is_fast() if fast is None else fast:
        r = replace(r, n_train=FAST_TRAIN_SIZE, train=replace(r.train, epochs=FAST_EPOCHS))
        if r.labelled_per_class is not None:
            r = replace(r, labelled_per_class=FAST_LABELLED_PER_CLASS)
    return r


def train_recipe(r: Recipe, data: ImageData, **fit_kwargs) -> tuple[nn.Module, History]:
    """Load the cached model of recipe ``r``, or train it on ``data`` (first ``n_train`` images)."""
    if r.n_train is not None and r.n_train > len(data):
        raise ValueError(f"recipe {r.name} needs {r.n_train} training images, data has {len(data)}")
    subset = data if r.n_train is None else data.subset(slice(0, r.n_train))

    def train(model: nn.Module) -> History:
        labels = r.labels_for(subset)
        return fit(model, subset, r.train, prior=r.make_prior(), labels=labels, **fit_kwargs)

    return load_or_train(r.name, r.config, train, device=data.device)
