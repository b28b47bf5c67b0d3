r"""The loss functions of the course, each with the equation it implements.

Conventions: reconstruction terms and the KL are summed over pixels / code dimensions and
averaged over the batch, so they are in *nats per image* and can be added to form the ELBO.
Discriminator outputs are logits :math:`\ell` with :math:`D = \sigma(\ell)`; every
:math:`\log D` is computed as :math:`-\mathrm{softplus}(-\ell)` for numerical stability.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_REDUCTIONS = {"mean", "sum", "none"}


def _reduce(per_example: Tensor, reduction: str) -> Tensor:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {sorted(_REDUCTIONS)}, got {reduction!r}")
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def reconstruction_loss(
    logits: Tensor, x: Tensor, kind: str = "bce", reduction: str = "mean"
) -> Tensor:
    r"""Negative log-likelihood of the images under the decoder, per image.

    ``kind="bce"`` (Bernoulli pixels, :math:`\hat x = \sigma(\text{logits})`):

    .. math:: -\log p(x|z) = -\sum_i \big[x_i \log \hat x_i + (1-x_i)\log(1-\hat x_i)\big]

    ``kind="mse"`` (squared error, a Gaussian likelihood up to constants):

    .. math:: \sum_i (x_i - \hat x_i)^2

    Args:
        logits: decoder outputs, shape ``(N, D)``.
        x: target images in [0, 1], same shape.
    """
    if logits.shape != x.shape:
        raise ValueError(
            f"logits and x must have the same shape, got {tuple(logits.shape)} and {tuple(x.shape)}"
        )
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "mse":
        per_pixel = (torch.sigmoid(logits) - x).pow(2)
    else:
        raise ValueError(f"kind must be 'bce' or 'mse', got {kind!r}")
    return _reduce(per_pixel.flatten(1).sum(1), reduction)


def gaussian_kl(mu: Tensor, logvar: Tensor, reduction: str = "mean") -> Tensor:
    r"""Closed-form :math:`KL\big(N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,N(0, I)\big)` per example.

    .. math:: KL = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big)

    with :math:`\log\sigma^2` = ``logvar``. This closed form is what ties the VAE to priors
    whose KL against a Gaussian can be written down.
    """
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and "
            f"{tuple(logvar.shape)}"
        )
    per_example = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    return _reduce(per_example, reduction)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""Loss the discriminator minimises: prior samples are "real" (1), codes are "fake" (0).

    .. math:: \mathcal{L}_D = -\mathbb{E}_{z'\sim p(z)}[\log D(z')]
                              -\mathbb{E}_{x}[\log(1 - D(q(x)))]

    Minimising it maximises :math:`\log D(z') + \log(1 - D(q(x)))`, the paper's
    regularisation phase for the discriminator.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor) -> Tensor:
    r"""Non-saturating generator loss: the encoder makes its codes look like prior samples.

    .. math:: \mathcal{L}_G = -\mathbb{E}_x[\log D(q(x))]

    Its gradient is large exactly when the discriminator rejects the codes, which is early
    in training. Compare :func:`minimax_generator_loss`.
    """
    return F.softplus(-fake_logits).mean()


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    r"""The minimax form, :math:`\mathbb{E}_x[\log(1 - D(q(x)))]`, minimised by the encoder.

    When :math:`D(q(x)) \approx 0` its gradient vanishes (the loss saturates), which is why
    :func:`generator_loss` is used in practice.
    """
    return -F.softplus(fake_logits).mean()


@torch.no_grad()
def discriminator_accuracy(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Fraction of prior samples called real and codes called fake (0.5 = fooled).

    Returned as a 0-d tensor so a training loop need not synchronise with the device.
    """
    correct = (real_logits > 0).sum() + (fake_logits <= 0).sum()
    return correct.float() / (len(real_logits) + len(fake_logits))
