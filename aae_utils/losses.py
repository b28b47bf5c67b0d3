r"""The loss functions of the course, each with the equation it implements.

Conventions: every loss computes one value per example from a batch of shape ``(B, ...)``,
reducing all dimensions but the first, then averages over the batch (``reduction="mean"``).
Reconstruction terms and the KL are summed over pixels / code dimensions, so they are in *nats
per image* and can be added to form the ELBO. Discriminator outputs are logits :math:`\ell`
(shape ``(B,)`` or ``(B, 1)``) with :math:`D = \sigma(\ell)`; every :math:`\log D` is
computed as :math:`-\mathrm{softplus}(-\ell)` for numerical stability. Inputs may be tensors or
NumPy arrays; images follow :mod:`aae_utils.inputs` (0-255 integers are divided by 255).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from . import inputs

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
        logits: decoder outputs, shape ``(B, D)`` (or ``(B, H, W)``).
        x: target images in [0, 1] (or integer 0-255), one per row of ``logits``: the same shape,
            or the same number of pixels per image (``(B, 784)`` against ``(B, 28, 28)``).
        kind: ``"bce"`` or ``"mse"``.
        reduction: ``"mean"`` over the batch, ``"sum"``, or ``"none"`` (shape ``(B,)``).

    Raises:
        ValueError: shapes that do not pair up, NaN values, or targets outside [0, 1].
    """
    if kind not in ("bce", "mse"):
        raise ValueError(f"kind must be 'bce' or 'mse', got {kind!r}")
    logits, x = inputs.batch_pair(logits, x, "logits", "x")
    if x.dtype != logits.dtype or x.device != logits.device:
        x = inputs.images(x.reshape(len(x), -1), "x", dtype=logits.dtype, device=logits.device
                          ).reshape(x.shape)
    elif inputs.checking():
        inputs.images(x.reshape(len(x), -1), "x")  # NaN, range
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x).pow(2)
    return _reduce(per_pixel.flatten(1).sum(1), reduction)


def reconstruction_floor(x: Tensor, reduction: str = "mean") -> Tensor:
    r"""The Bernoulli reconstruction loss of a *perfect* decoder, :math:`\hat x = x`: the lowest
    value :func:`reconstruction_loss` (``kind="bce"``) can take on these images, in nats.

    .. math:: \sum_i H(x_i) = -\sum_i \big[x_i \log x_i + (1 - x_i)\log(1 - x_i)\big]

    It is 0 only for black-and-white images: MNIST pixels are grey levels (about a fifth of them
    strictly between 0 and 1), so even a perfect reconstruction pays about 45 nats per test
    image. Read every reconstruction loss as "floor + what the model loses".

    Args:
        x: images in [0, 1] (or integer 0-255), ``(B, 784)``, ``(B, 28, 28)`` or ``(B, 1, 28, 28)``.
        reduction: ``"mean"`` over the batch, ``"sum"``, or ``"none"`` (shape ``(B,)``).
    """
    x = inputs.images(x, "x", dim=784)
    per_pixel = F.binary_cross_entropy(x, x, reduction="none")  # x log x with 0 log 0 = 0
    return _reduce(per_pixel.sum(1), reduction)


def gaussian_kl(mu: Tensor, logvar: Tensor, reduction: str = "mean") -> Tensor:
    r"""Closed-form :math:`KL\big(N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,N(0, I)\big)` per example.

    .. math:: KL = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big)

    with :math:`\log\sigma^2` = ``logvar``: the KL in closed form, for the prior :math:`N(0, I)`.
    For any other prior with a density, :func:`monte_carlo_kl` estimates it.

    Args:
        mu, logvar: shape ``(B, d)`` (or ``(B, ...)``: every dimension but the first is summed).
        reduction: ``"mean"`` over the batch, ``"sum"``, or ``"none"`` (shape ``(B,)``).
    """
    mu = inputs.batch(mu, "mu")
    logvar = inputs.batch(logvar, "logvar", dtype=mu.dtype)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and "
            f"{tuple(logvar.shape)}"
        )
    per_example = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).flatten(1).sum(1)
    return _reduce(per_example, reduction)


def monte_carlo_kl(mu: Tensor, logvar: Tensor, eps: Tensor, log_prior, reduction: str = "mean") -> Tensor:
    r"""One-sample Monte Carlo estimate of :math:`KL\big(q(z|x)\,\|\,p(z)\big)` per example, for
    any prior whose log-density ``log_prior`` can be evaluated (Kingma and Welling, 2014,
    Section 2.3: the estimator :math:`\tilde{\mathcal{L}}^A`):

    .. math:: KL \approx \log q(z|x) - \log p(z), \qquad z = \mu + \sigma \odot \epsilon,

    unbiased; a VAE averages it over its mini-batches. With :math:`p = N(0, I)` its mean is
    :func:`gaussian_kl`.

    Args:
        mu, logvar: the encoder's Gaussians, shape ``(B, d)``.
        eps: standard-normal noise ``(B, d)``, the sample's randomness.
        log_prior: ``log_prior(z)`` gives :math:`\log p(z)` per row, shape ``(B,)`` (a prior's
            ``log_prob``).
        reduction: ``"mean"`` over the batch, ``"sum"``, or ``"none"`` (shape ``(B,)``).
    """
    mu = inputs.batch(mu, "mu")
    logvar = inputs.batch(logvar, "logvar", dtype=mu.dtype)
    eps = inputs.batch(eps, "eps", dtype=mu.dtype)
    if not mu.shape == logvar.shape == eps.shape:
        raise ValueError(f"mu, logvar and eps must have the same shape, got {tuple(mu.shape)}, "
                         f"{tuple(logvar.shape)} and {tuple(eps.shape)}")
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = (-0.5 * (eps**2 + logvar + math.log(2 * math.pi))).flatten(1).sum(1)
    return _reduce(log_q - log_prior(z), reduction)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""Loss the discriminator minimises: prior samples are "real" (1), codes are "fake" (0).

    .. math:: \mathcal{L}_D = -\mathbb{E}_{z'\sim p(z)}[\log D(z')]
                              -\mathbb{E}_{x}[\log(1 - D(q(x)))]

    Minimising it maximises :math:`\log D(z') + \log(1 - D(q(x)))`, the paper's
    regularisation phase for the discriminator. Each batch of logits has shape ``(B,)`` or
    ``(B, 1)``; the two batches may differ in size.
    """
    real_logits = inputs.logits(real_logits, "real_logits")
    fake_logits = inputs.logits(fake_logits, "fake_logits")
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor) -> Tensor:
    r"""Non-saturating generator loss: the encoder makes its codes look like prior samples.

    .. math:: \mathcal{L}_G = -\mathbb{E}_x[\log D(q(x))]

    Its gradient is large exactly when the discriminator rejects the codes, which is early
    in training. Compare :func:`minimax_generator_loss`. ``fake_logits``: ``(B,)`` or ``(B, 1)``.
    """
    return F.softplus(-inputs.logits(fake_logits, "fake_logits")).mean()


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    r"""The minimax form, :math:`\mathbb{E}_x[\log(1 - D(q(x)))]`, minimised by the encoder.

    When :math:`D(q(x)) \approx 0` its gradient vanishes (the loss saturates), which is why
    :func:`generator_loss` is used in practice. ``fake_logits``: ``(B,)`` or ``(B, 1)``.
    """
    return -F.softplus(inputs.logits(fake_logits, "fake_logits")).mean()


@torch.no_grad()
def discriminator_accuracy(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Fraction of prior samples called real and codes called fake (0.5 = fooled).

    Returned as a 0-d tensor so a training loop need not synchronise with the device.
    """
    real_logits = inputs.logits(real_logits, "real_logits")
    fake_logits = inputs.logits(fake_logits, "fake_logits")
    correct = (real_logits > 0).sum() + (fake_logits <= 0).sum()
    return correct.float() / (len(real_logits) + len(fake_logits))
