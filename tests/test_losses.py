import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from aae_utils.losses import (
    discriminator_accuracy,
    discriminator_loss,
    gaussian_kl,
    generator_loss,
    minimax_generator_loss,
    reconstruction_loss,
)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(64, 5, generator=g)
    logvar = torch.randn(64, 5, generator=g)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar, reduction="none"), ref, atol=1e-5)
    assert torch.allclose(gaussian_kl(mu, logvar), ref.mean(), atol=1e-5)
    assert gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).item() == 0.0


def test_bce_is_bernoulli_nll_summed_over_pixels():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(4, 784, generator=g), torch.rand(4, 784, generator=g)
    p = torch.sigmoid(logits)
    ref = -(x * p.log() + (1 - x) * (1 - p).log()).sum(1)
    assert torch.allclose(reconstruction_loss(logits, x, reduction="none"), ref, atol=1e-3)
    mse = reconstruction_loss(logits, x, kind="mse")
    assert torch.allclose(mse, ((p - x) ** 2).sum(1).mean())
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_loss(logits, x[:, :10])
    with pytest.raises(ValueError, match="kind"):
        reconstruction_loss(logits, x, kind="l1")


def test_adversarial_losses_match_their_equations():
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-3.0, 0.0, 1.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -(d_real.log().mean() + (1 - d_fake).log().mean())
    assert torch.allclose(discriminator_loss(real, fake), expected)
    assert torch.allclose(generator_loss(fake), -d_fake.log().mean())
    assert torch.allclose(minimax_generator_loss(fake), (1 - d_fake).log().mean())
    assert torch.allclose(discriminator_loss(real, fake),
                          F.binary_cross_entropy_with_logits(real, torch.ones(3))
                          + F.binary_cross_entropy_with_logits(fake, torch.zeros(3)))


def test_non_saturating_gradient_stays_large_when_rejected():
    fake = torch.tensor([-8.0], requires_grad=True)  # D(q(x)) ~ 3e-4: codes rejected
    (g_ns,) = torch.autograd.grad(generator_loss(fake), fake)
    (g_mm,) = torch.autograd.grad(minimax_generator_loss(fake), fake)
    assert abs(g_ns.item()) > 0.99 and abs(g_mm.item()) < 1e-3


def test_losses_stable_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    assert math.isfinite(discriminator_loss(big, big).item())
    assert math.isfinite(generator_loss(big).item())


def test_discriminator_accuracy():
    acc = discriminator_accuracy(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, -2.0]))
    assert acc.item() == 0.75


def test_the_reconstruction_floor_is_the_loss_of_a_perfect_decoder():
    from aae_utils.losses import reconstruction_floor

    x = torch.rand(6, 784)
    perfect = reconstruction_loss(torch.logit(x.double()), x.double(), reduction="none")
    assert torch.allclose(reconstruction_floor(x, reduction="none").double(), perfect, atol=1e-3)
    black_white = (x > 0.5).float()
    assert reconstruction_floor(black_white) == 0  # 0 log 0 = 0: no floor without grey levels
    grey = torch.full((2, 784), 0.5)
    assert torch.allclose(reconstruction_floor(grey), torch.tensor(784 * math.log(2)))
    # any decoder pays at least the floor
    assert (reconstruction_loss(torch.randn(6, 784), x, reduction="none")
            >= reconstruction_floor(x, reduction="none")).all()
