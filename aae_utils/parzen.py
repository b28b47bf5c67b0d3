r"""The Parzen-window log-likelihood: how the paper's Table 1 judges a generative model.

The protocol (Goodfellow et al., 2014, section 5; reused by Makhzani et al., 2015, section 3
and Table 1): draw :math:`S` = 10,000 images :math:`s_1, \dots, s_S` from the model, put a
Gaussian of width :math:`\sigma` on each, and score a test image :math:`x \in \mathbb{R}^D` by
the log density of that mixture,

.. math::

    \log \hat p_\sigma(x) = \log \frac{1}{S} \sum_{i=1}^{S}
        \mathcal{N}(x;\, s_i, \sigma^2 I)
    = \operatorname{logsumexp}_i\!\Big(-\frac{\lVert x - s_i \rVert^2}{2\sigma^2}\Big)
      - \log S - \frac{D}{2}\log(2\pi\sigma^2)

in nats. :math:`\sigma` is the value of a grid that scores best on a validation split; the
table reports the mean over the test images with its standard error.

Theis, van den Oord and Bethge (2016), "A note on the evaluation of generative models"
(ICLR; the section on Parzen window estimates), show that this estimate can stay far from a
model's log-likelihood even with very many samples, and that a k-means of the training set
scores better than several published models; their abstract concludes that Parzen window
estimates "should generally be avoided". Notebook 08 measures both effects here.

Every distance is computed in blocks (:data:`BLOCK_ELEMENTS` floats at a time), so 10,000 test
images against 10,000 samples at 784-D need under 0.5 GB beyond the inputs and a few seconds
on two CPU cores (``bench/parzen_speed.py`` records it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from . import inputs

#: The width grid searched when none is given: 31 values from 0.05 to 1.0, evenly spaced in
#: log (the GAN paper's script searched 10 values from 0.1 to 1.0; MNIST models in [0, 1]
#: can choose widths below 0.1).
DEFAULT_SIGMAS = tuple(float(s) for s in torch.logspace(math.log10(0.05), 0.0, 31, dtype=torch.float64))

#: At most this many squared distances exist at once (float32: 64 MB).
BLOCK_ELEMENTS = 2**24


def _as_images(value, name: str, like: Tensor | None = None) -> Tensor:
    """Images by the course's one set of rules (:func:`aae_utils.inputs.images`: tensors or
    NumPy arrays, ``(N, D)`` or ``(N, H, W)``, floats in [0, 1] or 0-255 grey levels), not empty;
    with ``like``, as many pixels per image as it has (the model's samples)."""
    dim = None if like is None else like.shape[1]
    return inputs.nonempty(inputs.images(value, name, dim=dim, check=True), name).detach()


def _as_sigmas(sigma) -> Tensor:
    values = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1)
    if len(values) == 0 or not torch.isfinite(values).all() or (values <= 0).any():
        raise ValueError(f"sigma must be a positive width or a sequence of them, got {sigma!r}")
    return values


@torch.no_grad()
def log_likelihood(x: Tensor, samples: Tensor, sigma: float | Sequence[float]) -> Tensor:
    r"""Parzen-window log density :math:`\log \hat p_\sigma(x)` of every row of ``x``, in nats.

    Args:
        x: images to score, ``(N, D)`` or ``(N, H, W)``: floats in [0, 1] or 0-255 grey levels,
            a tensor or a NumPy array (the rules of :func:`aae_utils.inputs.images`).
        samples: the model's samples, the window's centres, ``(S, D)``, by the same rules.
        sigma: the kernel's standard deviation (the same unit as a pixel), or a sequence of
            ``K`` of them scored in one pass over the distances.

    Returns:
        float64 tensor ``(N,)`` for one width, ``(K, N)`` for a sequence; on ``x``'s device.

    Raises:
        TypeError / ValueError: ``x`` or ``samples`` not images (see above; the message names
            the argument), their widths differ, or a width is not positive.
    """
    samples = _as_images(samples, "samples")
    x = _as_images(x, "x", like=samples)
    sigmas = _as_sigmas(sigma).to(x.device)
    # Distances do not change under a shift; centring on the samples' mean keeps the norms
    # small, so the float32 products below lose less to rounding (about 1e-6 relative: 0.01 nats
    # at the widths MNIST chooses, against standard errors near 2 nats).
    centre = samples.mean(0, dtype=torch.float64).to(x.device)
    samples = (samples.to(device=x.device, dtype=torch.float64) - centre).float()
    x = (x.double() - centre).float()
    n_samples, dim = samples.shape
    # log of the Gaussian's normaliser and of 1/S, once per width
    const = -math.log(n_samples) - 0.5 * dim * torch.log(2 * math.pi * sigmas**2)
    inv_two_var = (0.5 / sigmas**2).tolist()
    s_sq = (samples**2).sum(1)
    rows = max(1, BLOCK_ELEMENTS // n_samples)
    cols = min(n_samples, BLOCK_ELEMENTS)
    out = []
    for xb in x.split(rows):
        x_sq = (xb**2).sum(1, keepdim=True)
        total = torch.full((len(sigmas), len(xb)), -math.inf, dtype=torch.float64, device=x.device)
        for start in range(0, n_samples, cols):
            sb = samples[start:start + cols]
            # |x - s|^2 = |x|^2 + |s|^2 - 2 x.s: one matrix product per block; rounding can
            # make it a hair below 0 for a sample equal to x, hence the clamp
            d2 = (x_sq + s_sq[start:start + cols] - 2 * xb @ sb.T).clamp_min_(0)
            block = torch.stack([torch.logsumexp(d2 * -c, dim=1) for c in inv_two_var]).double()
            total = torch.logaddexp(total, block)
        out.append(total + const.view(-1, 1))
    result = torch.cat(out, dim=1)
    return result[0] if torch.as_tensor(sigma).dim() == 0 else result


@dataclass(frozen=True)
class Bandwidth:
    """The width chosen on the validation split, with the curve it was chosen from."""

    sigma: float  # the chosen width
    sigmas: tuple[float, ...]  # the grid
    validation_ll: tuple[float, ...]  # mean validation log-likelihood (nats) per width


def choose_sigma(validation: Tensor, samples: Tensor,
                 sigmas: Sequence[float] = DEFAULT_SIGMAS) -> Bandwidth:
    """The width of ``sigmas`` with the highest mean log-likelihood of ``validation``.

    Choosing it on the test images would flatter the model; the GAN and AAE papers choose it
    on a validation split of the training set. Shapes and errors as for :func:`log_likelihood`;
    a best width at either end of the grid means the grid should be widened (ValueError).
    """
    samples = _as_images(samples, "samples")
    validation = _as_images(validation, "validation", like=samples)
    grid = _as_sigmas(sigmas)
    if len(grid) < 2:
        raise ValueError(f"sigmas must hold at least two widths to choose from, got {sigmas!r}")
    grid = grid.sort().values
    mean = log_likelihood(validation, samples, grid.tolist()).mean(1).cpu()
    best = int(mean.argmax())
    if len(grid) > 2 and best in (0, len(grid) - 1):
        raise ValueError(f"the best width, {float(grid[best]):.4g}, is at the end of the grid "
                         f"{float(grid[0]):.4g}..{float(grid[-1]):.4g}; pass sigmas that reach past it")
    return Bandwidth(float(grid[best]), tuple(grid.tolist()), tuple(mean.tolist()))


@dataclass(frozen=True)
class ParzenScore:
    """A Table 1 entry: mean test log-likelihood (nats) with its standard error."""

    mean: float
    stderr: float  # standard deviation of the per-image values / sqrt(number of test images)
    n_samples: int
    n_test: int
    bandwidth: Bandwidth

    @property
    def sigma(self) -> float:
        """The width the test images were scored with (chosen on the validation split)."""
        return self.bandwidth.sigma

    def __str__(self) -> str:
        return (f"{self.mean:.1f} ± {self.stderr:.1f} nats (σ = {self.sigma:.3f}, "
                f"{self.n_samples:,} samples, {self.n_test:,} test images)")


def parzen_score(samples: Tensor, validation: Tensor, test: Tensor,
                 sigmas: Sequence[float] = DEFAULT_SIGMAS) -> ParzenScore:
    """The whole protocol: choose the width on ``validation``, then score ``test``.

    Args:
        samples: ``(S, D)`` model samples (the paper: 10,000).
        validation: ``(V, D)`` held-out training images to choose the width on.
        test: ``(N, D)`` test images.
        sigmas: the width grid (default :data:`DEFAULT_SIGMAS`).
    """
    samples = _as_images(samples, "samples")
    validation = _as_images(validation, "validation", like=samples)
    test = _as_images(test, "test", like=samples)
    bandwidth = choose_sigma(validation, samples, sigmas)
    ll = log_likelihood(test, samples, bandwidth.sigma)
    stderr = float(ll.std() / math.sqrt(len(ll))) if len(ll) > 1 else float("nan")
    return ParzenScore(float(ll.mean()), stderr, len(samples), len(ll), bandwidth)


@torch.no_grad()
def importance_sampled(x: Tensor, decode, mu: Tensor, logvar: Tensor, sigma: float, *,
                       samples: int = 100, seed: int = 0, batch_size: int = 100) -> Tensor:
    r"""Importance-sampled log-likelihood of ``x`` under "decoded mean + Gaussian noise", in nats.

    A Parzen window on decoded prior samples is a Monte Carlo estimate of the log density of
    the model :math:`p_\sigma(x) = \mathbb{E}_{z \sim p(z)}\, \mathcal{N}(x;\, m(z), \sigma^2 I)`
    that draws ``z`` blindly from the prior. With an encoder :math:`q(z|x) =
    \mathcal{N}(\mu(x), \operatorname{diag} e^{\log\sigma^2(x)})` the same quantity can be
    estimated far better (Burda et al., 2016, eq. 8, the importance-weighted bound):

    .. math::

        \log p_\sigma(x) \approx \log \frac{1}{K} \sum_{k=1}^{K}
            \frac{\mathcal{N}(x;\, m(z_k), \sigma^2 I)\, p(z_k)}{q(z_k|x)},
        \qquad z_k \sim q(z|x),\; p(z) = \mathcal{N}(0, I).

    Its expectation is a lower bound that rises to :math:`\log p_\sigma(x)` as K grows.

    Args:
        x: ``(N, D)`` points to score.
        decode: ``decode(z)`` maps codes ``(M, L)`` to means ``(M, D)`` (a decoder's pixel
            probabilities).
        mu, logvar: ``(N, L)`` the encoder's Gaussian for each row of ``x``.
        sigma: the noise width of the model (use the Parzen window's chosen width to compare
            the two estimates of one model).
        samples: K, codes drawn per point.
        seed: seeds the draws, so the estimate can be repeated.
        batch_size: points per decoder call (each call decodes ``batch_size * samples`` codes).

    Returns:
        float64 ``(N,)``.
    """
    x = _as_images(x, "x")
    sig = float(_as_sigmas(sigma)[0])
    dtype = mu.dtype if isinstance(mu, Tensor) and mu.is_floating_point() else torch.float32
    mu = inputs.codes(mu, "mu", dtype=dtype, check=True)
    logvar = inputs.codes(logvar, "logvar", dtype=dtype, check=True)
    if mu.shape != logvar.shape or mu.dim() != 2 or len(mu) != len(x):
        raise ValueError(f"mu and logvar must both have shape (N, L) with N = len(x) = {len(x)}, "
                         f"got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    gen = torch.Generator(device=mu.device).manual_seed(seed)
    n, dim = x.shape
    out = []
    for start in range(0, n, batch_size):
        xb, m, lv = (t[start:start + batch_size].double() for t in (x, mu, logvar))
        eps = torch.randn((samples, *m.shape), generator=gen, dtype=torch.float64, device=m.device)
        z = m + (0.5 * lv).exp() * eps  # (K, B, L): the reparameterisation
        decoded = decode(z.reshape(-1, z.shape[-1]).to(mu.dtype))
        if decoded.shape[-1] != dim:
            raise ValueError(f"x must be a batch of images of shape (N, {decoded.shape[-1]}), as decode "
                             f"gives them, got {tuple(x.shape)}")
        means = decoded.double().reshape(samples, len(xb), dim)
        log_px_z = -((xb - means) ** 2).sum(-1) / (2 * sig**2) - 0.5 * dim * math.log(2 * math.pi * sig**2)
        log_pz = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        log_qz = (-0.5 * eps**2 - 0.5 * lv - 0.5 * math.log(2 * math.pi)).sum(-1)
        out.append(torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(samples))
    return torch.cat(out)


def memoriser(train: Tensor, n: int = 10_000, *, seed: int = 0) -> Tensor:
    """``n`` training images drawn without replacement: a "model" that has memorised them.

    Scored with :func:`parzen_score`, it shows what the metric rewards: these are real digits,
    what a perfect model would draw, and on MNIST they score below trained models (notebook 08).
    Returns ``(n, D)``; ValueError if ``train`` has fewer than ``n`` rows.
    """
    train = _as_images(train, "train")
    if not isinstance(n, int) or not 1 <= n <= len(train):
        raise ValueError(f"n must be a whole number from 1 to len(train) = {len(train)}, got {n!r}")
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    return train[pick.to(train.device)]


def kmeans_centroids(train: Tensor, k: int = 10_000, *, iterations: int = 10, seed: int = 0) -> Tensor:
    """The ``k`` centroids of a k-means of ``train``: blurred averages of nearby training images.

    Theis et al. (2016, section on Parzen window estimates) use such centroids as "samples" to
    show that a Parzen window can prefer a blurry memoriser to real models. scikit-learn's
    ``KMeans``: Lloyd's algorithm from ``k`` random training images, one start, ``iterations``
    rounds (ten by default, which notebook 08 and ``bench/parzen_baselines.py`` use; whether
    more would change the score was not measured).

    Returns ``(k, D)`` float32 on ``train``'s device; ValueError if ``k`` exceeds ``len(train)``.
    """
    from sklearn.cluster import KMeans

    train = _as_images(train, "train")
    if not isinstance(k, int) or not 1 <= k <= len(train):
        raise ValueError(f"k must be a whole number from 1 to len(train) = {len(train)}, got {k!r}")
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a whole number >= 1, got {iterations!r}")
    km = KMeans(n_clusters=k, init="random", n_init=1, max_iter=iterations, random_state=seed)
    km.fit(train.detach().float().cpu().numpy())
    # A mean of pixels in [0, 1] lies in [0, 1]; rounding leaves some a hair outside (-3e-6)
    centroids = torch.from_numpy(km.cluster_centers_).float().clamp_(0.0, 1.0)
    return centroids.to(train.device)
