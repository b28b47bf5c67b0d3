"""Each mistake a learner is likely to make gets a ValueError/TypeError that names the argument,
what it got and what it expects."""

import pytest
import torch

from aae_utils.config import get_device, seed_everything
from aae_utils.data import balanced_subset, load_dataset
from aae_utils.losses import gaussian_kl, reconstruction_loss
from aae_utils.models import Discriminator, build_model
from aae_utils.priors import CategoricalPrior, GaussianMixturePrior, GaussianPrior, make_prior
from aae_utils.train import TrainConfig

CASES = [
    ("optimizer name", lambda: TrainConfig(optimizer="rmsprop"), "optimizer must be 'adam' or 'sgd'"),
    ("recon name", lambda: TrainConfig(recon="l1"), "recon must be 'bce' or 'mse'"),
    ("generator form", lambda: TrainConfig(generator="wasserstein"), "generator must be"),
    ("negative lr", lambda: TrainConfig(lr=-1.0), "lr must be positive"),
    ("non-int epochs", lambda: TrainConfig(epochs=2.5), "epochs must be a positive int"),
    ("bool batch size", lambda: TrainConfig(batch_size=True), "batch_size must be a positive int"),
    ("kl shapes", lambda: gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)), "same shape"),
    ("reduction", lambda: reconstruction_loss(torch.zeros(1, 4), torch.zeros(1, 4), reduction="avg"),
     "reduction must be one of"),
    ("prior log_prob dim", lambda: GaussianPrior(2).log_prob(torch.zeros(5, 3)), r"shape \(N, 2\)"),
    ("prior name", lambda: make_prior("uniform"), "unknown prior 'uniform'"),
    ("prior std", lambda: GaussianPrior(2, std=0.0), "must be positive"),
    ("categorical classes", lambda: CategoricalPrior(1), "num_classes must be >= 2"),
    ("mixture label range", lambda: GaussianMixturePrior(10).sample(torch.tensor([-1])), r"\[0, 9\]"),
    ("dataset limit", lambda: load_dataset("mnist", limit=0), "limit must be a positive int"),
    ("dataset name", lambda: load_dataset("svhn"), "unknown dataset 'svhn'"),
    ("per_class", lambda: balanced_subset(torch.arange(10), 0), "per_class must be a positive int"),
    ("subset labels 2-D", lambda: balanced_subset(torch.zeros(2, 5, dtype=torch.long), 1), "1-D"),
    ("noise std", lambda: Discriminator(2, hidden=(4,), input_noise=-0.1), "input_noise must be >= 0"),
    ("model kind", lambda: build_model("vqvae"), "unknown model kind 'vqvae'"),
    ("latent vs decoder", lambda: build_model("ae", latent_dim=2, hidden=(4,)).decoder(torch.zeros(3, 5)),
     r"z must be a batch of shape \(N, 2\), one row per example, got \(3, 5\)"),
    ("device name", lambda: get_device("gpu"), "device 'gpu' is unknown"),
    ("seed", lambda: seed_everything("42"), "seed must be a non-negative int"),
]


@pytest.mark.parametrize("make, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_explained(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()
